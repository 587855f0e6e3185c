// Package wire encodes SDK values into the bytes each AWS protocol puts on the
// wire, driven by the SDK's own schemas (restJson1, awsQuery) or by the field
// names its deserializers expect (ec2Query), so the emulator's replies cannot
// drift from what the client decodes.
package wire

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/traits"
)

// JSON implements smithy.ShapeSerializer for restJson1 bodies: member names as
// the model spells them (or their @jsonName), timestamps as epoch seconds
// unless the schema says otherwise.
type JSON struct {
	buf    []byte
	frames []frame
}

type frameKind int

const (
	objectFrame frameKind = iota
	listFrame
)

type frame struct {
	kind    frameKind
	comma   bool // an element was already written
	keyDone bool // a map key was written; the next write is its value
}

var _ smithy.ShapeSerializer = (*JSON)(nil)

// MarshalJSON serializes v (an SDK output or type) into a JSON document.
func MarshalJSON(v smithy.Serializable) []byte {
	s := &JSON{}
	v.Serialize(s)
	return s.Bytes()
}

// Bytes returns the document written so far.
func (s *JSON) Bytes() []byte { return s.buf }

func quote(v string) []byte {
	b, _ := json.Marshal(v) // a string always marshals
	return b
}

func (s *JSON) key(schema *smithy.Schema) {
	if len(s.frames) == 0 {
		return
	}
	top := &s.frames[len(s.frames)-1]
	if top.keyDone {
		top.keyDone = false
		return
	}
	if top.comma {
		s.buf = append(s.buf, ',')
	}
	top.comma = true
	if top.kind == listFrame {
		return
	}
	name := schema.MemberName()
	if t, ok := smithy.SchemaTrait[*traits.JSONName](schema); ok && t.Name != "" {
		name = t.Name
	}
	s.buf = append(s.buf, quote(name)...)
	s.buf = append(s.buf, ':')
}

func (s *JSON) push(open byte, kind frameKind) {
	s.buf = append(s.buf, open)
	s.frames = append(s.frames, frame{kind: kind})
}

func (s *JSON) pop(closer byte) {
	s.buf = append(s.buf, closer)
	s.frames = s.frames[:len(s.frames)-1]
}

func (s *JSON) raw(schema *smithy.Schema, b []byte) { s.key(schema); s.buf = append(s.buf, b...) }

// WriteInt8 writes a number.
func (s *JSON) WriteInt8(sc *smithy.Schema, v int8) { s.WriteInt64(sc, int64(v)) }

// WriteInt16 writes a number.
func (s *JSON) WriteInt16(sc *smithy.Schema, v int16) { s.WriteInt64(sc, int64(v)) }

// WriteInt32 writes a number.
func (s *JSON) WriteInt32(sc *smithy.Schema, v int32) { s.WriteInt64(sc, int64(v)) }

// WriteInt64 writes a number.
func (s *JSON) WriteInt64(sc *smithy.Schema, v int64) {
	s.raw(sc, strconv.AppendInt(nil, v, 10))
}

// WriteFloat32 writes a number.
func (s *JSON) WriteFloat32(sc *smithy.Schema, v float32) { s.WriteFloat64(sc, float64(v)) }

// WriteFloat64 writes a number, or the string forms of NaN and infinities.
func (s *JSON) WriteFloat64(sc *smithy.Schema, v float64) {
	switch {
	case math.IsNaN(v):
		s.raw(sc, []byte(`"NaN"`))
	case math.IsInf(v, 1):
		s.raw(sc, []byte(`"Infinity"`))
	case math.IsInf(v, -1):
		s.raw(sc, []byte(`"-Infinity"`))
	default:
		s.raw(sc, strconv.AppendFloat(nil, v, 'f', -1, 64))
	}
}

// WriteBool writes true or false.
func (s *JSON) WriteBool(sc *smithy.Schema, v bool) { s.raw(sc, strconv.AppendBool(nil, v)) }

// WriteString writes a quoted string.
func (s *JSON) WriteString(sc *smithy.Schema, v string) { s.raw(sc, quote(v)) }

// WriteBigInt writes an arbitrary-precision integer.
func (s *JSON) WriteBigInt(sc *smithy.Schema, v *big.Int) { s.raw(sc, []byte(v.String())) }

// WriteBigFloat writes an arbitrary-precision decimal.
func (s *JSON) WriteBigFloat(sc *smithy.Schema, v *big.Float) { s.raw(sc, []byte(v.Text('f', -1))) }

// WriteBlob writes base64.
func (s *JSON) WriteBlob(sc *smithy.Schema, v []byte) {
	s.WriteString(sc, base64.StdEncoding.EncodeToString(v))
}

// WriteTime writes a timestamp in the schema's format (epoch seconds by default).
func (s *JSON) WriteTime(sc *smithy.Schema, v time.Time) {
	format := "epoch-seconds"
	if t, ok := smithy.SchemaTrait[*traits.TimestampFormat](sc); ok {
		format = t.Format
	}
	switch format {
	case "date-time":
		s.WriteString(sc, v.UTC().Format(time.RFC3339Nano))
	case "http-date":
		s.WriteString(sc, v.UTC().Format(time.RFC1123))
	default:
		ms := v.UnixMilli()
		s.raw(sc, strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64))
	}
}

// WriteUnion opens a union; the variant's member follows as an ordinary write.
func (s *JSON) WriteUnion(schema, _ *smithy.Schema) { s.key(schema); s.push('{', objectFrame) }

// CloseUnion closes a union.
func (s *JSON) CloseUnion() { s.pop('}') }

// WriteDocument writes a free-form document.
func (s *JSON) WriteDocument(sc *smithy.Schema, v document.Value) {
	b, err := json.Marshal(documentToAny(v))
	if err != nil {
		b = []byte("null")
	}
	s.raw(sc, b)
}

func documentToAny(v document.Value) any {
	switch d := v.(type) {
	case document.Boolean:
		return bool(d)
	case document.String:
		return string(d)
	case document.Number:
		return json.Number(d)
	case document.List:
		out := make([]any, len(d))
		for i, e := range d {
			out[i] = documentToAny(e)
		}
		return out
	case document.Map:
		out := make(map[string]any, len(d))
		for k, e := range d {
			out[k] = documentToAny(e)
		}
		return out
	default:
		return nil
	}
}

// WriteNil writes null.
func (s *JSON) WriteNil(sc *smithy.Schema) { s.raw(sc, []byte("null")) }

// WriteStruct opens an object.
func (s *JSON) WriteStruct(sc *smithy.Schema) { s.key(sc); s.push('{', objectFrame) }

// CloseStruct closes an object.
func (s *JSON) CloseStruct() { s.pop('}') }

// WriteList opens an array; its elements are written without keys.
func (s *JSON) WriteList(sc *smithy.Schema) { s.key(sc); s.push('[', listFrame) }

// CloseList closes an array.
func (s *JSON) CloseList() { s.pop(']') }

// WriteMap opens an object whose keys come from WriteKey.
func (s *JSON) WriteMap(sc *smithy.Schema) { s.key(sc); s.push('{', objectFrame) }

// WriteKey writes a map key; the next write is its value.
func (s *JSON) WriteKey(_ *smithy.Schema, k string) {
	top := &s.frames[len(s.frames)-1]
	if top.comma {
		s.buf = append(s.buf, ',')
	}
	top.comma = true
	s.buf = append(s.buf, quote(k)...)
	s.buf = append(s.buf, ':')
	top.keyDone = true
}

// CloseMap closes a map.
func (s *JSON) CloseMap() { s.pop('}') }
