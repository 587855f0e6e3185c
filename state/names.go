package state

import (
	"fmt"
	"strings"
)

// MaxRegionNameLen is the longest region name a backend accepts (the DNS-1123
// subdomain limit).
const MaxRegionNameLen = 253

// ValidateRegionName checks that name is a DNS-1123 name (lowercase letters,
// digits and '-', in dot-separated labels of at most 63 characters that start
// and end with a letter or digit). Backends call it before turning a region
// name into a file name or object key, so a name can never escape its
// directory or collide with a backend's own files.
func ValidateRegionName(name string) error {
	if name == "" {
		return fmt.Errorf("region name is empty")
	}
	if len(name) > MaxRegionNameLen {
		return fmt.Errorf("region name %.40q... is %d characters long, more than %d", name, len(name), MaxRegionNameLen)
	}
	for _, label := range strings.Split(name, ".") {
		if err := validateLabel(label); err != nil {
			return fmt.Errorf("region name %q is not a DNS-1123 name: %v", name, err)
		}
	}
	return nil
}

func validateLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("it has an empty label (leading, trailing or doubled '.')")
	case len(l) > 63:
		return fmt.Errorf("label %q is longer than 63 characters", l)
	}
	for i, c := range l {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case alnum:
		case c == '-' && i != 0 && i != len(l)-1:
		case c == '-':
			return fmt.Errorf("label %q starts or ends with '-'", l)
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("it has an upper-case letter %q; use lower case", c)
		default:
			return fmt.Errorf("character %q is not allowed; use lower-case letters, digits, '-' and '.'", c)
		}
	}
	return nil
}
