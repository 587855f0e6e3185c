package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrNewerFormat is wrapped by Decode's error when a document was written by a
// newer regionctl in a format this one does not understand.
var ErrNewerFormat = errors.New("state format is newer than this regionctl understands")

// Encode renders s as the canonical state document: JSON indented by two
// spaces, resources sorted by key, object keys sorted, HTML characters left
// unescaped and a trailing newline, so equal states give equal bytes and a
// diff of two versions shows only what changed. It validates s first and
// does not change it.
func Encode(s *State) ([]byte, error) {
	if s == nil {
		return nil, errors.New("encode state: nil state")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("encode state of region %s: %w", s.Region, err)
	}
	c := s.Clone()
	c.sort()
	if c.Resources == nil {
		c.Resources = []Resource{} // "resources": [] reads better than null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode state of region %s: %w", s.Region, err)
	}
	return buf.Bytes(), nil
}

// Decode parses and validates a state document. A document from a newer
// format version is refused with an error wrapping ErrNewerFormat, before its
// body is looked at. Numbers in inputs and outputs decode as float64, as
// everywhere else JSON is read. An empty resource list decodes as an empty,
// non-nil slice. A document whose resource list is null or missing is
// refused: regionctl always writes a list, and reading such a document as
// an empty region would plan to create everything again.
func Decode(b []byte) (*State, error) {
	var probe struct {
		Version   *int            `json:"version"`
		Resources json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON state document: %w", err)
	}
	if probe.Version != nil && *probe.Version > FormatVersion {
		return nil, fmt.Errorf("%w: document has format version %d, this regionctl reads up to %d: upgrade regionctl",
			ErrNewerFormat, *probe.Version, FormatVersion)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("not a state document: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a state document: unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if r := bytes.TrimSpace(probe.Resources); len(r) == 0 || bytes.Equal(r, []byte("null")) {
		what := `"resources" is null`
		if len(r) == 0 {
			what = `it has no "resources" list`
		}
		return nil, fmt.Errorf(`%s, where regionctl always writes a list ([] for an empty region): the document was damaged or edited, and reading it as an empty region would create everything again`, what)
	}
	if s.Resources == nil {
		s.Resources = []Resource{}
	}
	return &s, nil
}

// CorruptError is returned by Read (and by Write, which then stores nothing)
// when a region's stored document cannot be decoded or is not one this
// regionctl can use. It is never treated as "no state".
type CorruptError struct {
	Region string
	// Where names the stored document: a file path or an object URL.
	Where string
	// Backup names where the previous version is kept, when the backend
	// keeps one and it exists.
	Backup string
	Err    error
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("state of region %s in %s cannot be used: %v", e.Region, e.Where, e.Err)
	if errors.Is(e.Err, ErrNewerFormat) {
		return msg
	}
	msg += "; regionctl changed nothing and will not overwrite it. To recover, repair the document by hand"
	if e.Backup != "" {
		msg += fmt.Sprintf(", or restore the previous version from %s (it is one write older: review `regionctl plan` before applying)", e.Backup)
	} else {
		msg += " or restore it from a copy of your own (no backup of it exists)"
	}
	return msg
}

func (e *CorruptError) Unwrap() error { return e.Err }
