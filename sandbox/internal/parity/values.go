package parity

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// decodeJSON decodes a reply keeping numbers as json.Number, so an int64
// and a float are told apart.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonKind names a decoded JSON value's type.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "the number " + x.String()
	case bool:
		return "a boolean"
	}
	return "?"
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// scalarProblem says what is wrong with text as a value of a primitive
// type ("" when nothing): integer types (int32, int64, uint32, uint64,
// integer, long), floating point (double, float, number), boolean,
// timestamps (RFC 3339 / ISO 8601, or epoch seconds for unixTimestamp),
// base64 (blob, byte).
func scalarProblem(typ, format, text string) string {
	switch typ {
	case "integer", "int32":
		return intProblem(text, 32, false)
	case "long", "int64":
		return intProblem(text, 64, false)
	case "uint32":
		return intProblem(text, 32, true)
	case "uint64":
		return intProblem(text, 64, true)
	case "double", "float", "number":
		if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "not a number"
		}
	case "boolean":
		if text != "true" && text != "false" {
			return "not true or false"
		}
	case "timestamp", "date-time", "google-datetime":
		if format == "unixTimestamp" {
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return "not epoch seconds"
			}
			return ""
		}
		if _, err := time.Parse(time.RFC3339Nano, text); err != nil {
			return "not an RFC 3339 timestamp"
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, text); err != nil {
			return "not a date (YYYY-MM-DD)"
		}
	case "blob", "byte":
		if _, err := base64.StdEncoding.DecodeString(text); err != nil {
			if _, err := base64.URLEncoding.DecodeString(text); err != nil {
				return "not base64"
			}
		}
	}
	return ""
}

func intProblem(text string, bits int, unsigned bool) string {
	var err error
	if unsigned {
		_, err = strconv.ParseUint(text, 10, bits)
	} else {
		_, err = strconv.ParseInt(text, 10, bits)
	}
	if err != nil {
		return "not an integer of " + strconv.Itoa(bits) + " bits"
	}
	return ""
}
