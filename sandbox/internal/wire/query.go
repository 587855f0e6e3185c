package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"math/big"
	"strconv"
	"time"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/traits"
)

// QueryXML implements smithy.ShapeSerializer for awsQuery response bodies:
// elements named after the model's members (or their @xmlName), lists wrapped
// in <member> items unless @xmlFlattened, maps as <entry><key/><value/>,
// timestamps as ISO 8601.
type QueryXML struct {
	buf    bytes.Buffer
	root   string
	frames []xmlFrame
}

type xmlFrame struct {
	kind      frameKind
	name      string // element to close ("" for flattened lists)
	itemName  string // list items
	isMap     bool
	keyDone   bool
	entryOpen bool
}

var _ smithy.ShapeSerializer = (*QueryXML)(nil)

// MarshalQueryResult serializes an awsQuery operation output as the
// <OpResult> element the SDK reads; an operation without output has none.
func MarshalQueryResult(op string, v smithy.Serializable) []byte {
	s := &QueryXML{root: op + "Result"}
	v.Serialize(s)
	return s.Bytes()
}

// Bytes returns the XML written so far.
func (s *QueryXML) Bytes() []byte { return s.buf.Bytes() }

func (s *QueryXML) ename(sc *smithy.Schema) string {
	if len(s.frames) == 0 {
		if s.root != "" {
			return s.root
		}
		return sc.ID().Name
	}
	top := &s.frames[len(s.frames)-1]
	if top.isMap && top.keyDone {
		top.keyDone = false
		return "value"
	}
	if top.kind == listFrame {
		return top.itemName
	}
	if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](sc); ok {
		return t.Name
	}
	return sc.MemberName()
}

func (s *QueryXML) leaf(sc *smithy.Schema, text string) {
	n := s.ename(sc)
	s.buf.WriteString("<" + n + ">")
	_ = xml.EscapeText(&s.buf, []byte(text)) // writes to a bytes.Buffer cannot fail
	s.buf.WriteString("</" + n + ">")
}

// WriteInt8 writes a number.
func (s *QueryXML) WriteInt8(sc *smithy.Schema, v int8) { s.WriteInt64(sc, int64(v)) }

// WriteInt16 writes a number.
func (s *QueryXML) WriteInt16(sc *smithy.Schema, v int16) { s.WriteInt64(sc, int64(v)) }

// WriteInt32 writes a number.
func (s *QueryXML) WriteInt32(sc *smithy.Schema, v int32) { s.WriteInt64(sc, int64(v)) }

// WriteInt64 writes a number.
func (s *QueryXML) WriteInt64(sc *smithy.Schema, v int64) { s.leaf(sc, strconv.FormatInt(v, 10)) }

// WriteFloat32 writes a number.
func (s *QueryXML) WriteFloat32(sc *smithy.Schema, v float32) { s.WriteFloat64(sc, float64(v)) }

// WriteFloat64 writes a number.
func (s *QueryXML) WriteFloat64(sc *smithy.Schema, v float64) {
	s.leaf(sc, strconv.FormatFloat(v, 'f', -1, 64))
}

// WriteBool writes true or false.
func (s *QueryXML) WriteBool(sc *smithy.Schema, v bool) { s.leaf(sc, strconv.FormatBool(v)) }

// WriteString writes text.
func (s *QueryXML) WriteString(sc *smithy.Schema, v string) { s.leaf(sc, v) }

// WriteBigInt writes an integer.
func (s *QueryXML) WriteBigInt(sc *smithy.Schema, v *big.Int) { s.leaf(sc, v.String()) }

// WriteBigFloat writes a decimal.
func (s *QueryXML) WriteBigFloat(sc *smithy.Schema, v *big.Float) { s.leaf(sc, v.Text('f', -1)) }

// WriteBlob writes base64.
func (s *QueryXML) WriteBlob(sc *smithy.Schema, v []byte) {
	s.leaf(sc, base64.StdEncoding.EncodeToString(v))
}

// WriteTime writes an ISO 8601 timestamp (or the schema's format).
func (s *QueryXML) WriteTime(sc *smithy.Schema, v time.Time) {
	format := "date-time"
	if t, ok := smithy.SchemaTrait[*traits.TimestampFormat](sc); ok {
		format = t.Format
	}
	switch format {
	case "epoch-seconds":
		s.leaf(sc, strconv.FormatFloat(float64(v.UnixMilli())/1000, 'f', -1, 64))
	case "http-date":
		s.leaf(sc, v.UTC().Format(time.RFC1123))
	default:
		s.leaf(sc, v.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
}

// WriteUnion opens a union; the variant follows as an ordinary member.
func (s *QueryXML) WriteUnion(sc, _ *smithy.Schema) { s.WriteStruct(sc) }

// CloseUnion closes a union.
func (s *QueryXML) CloseUnion() { s.CloseStruct() }

// WriteDocument is not part of the awsQuery protocol; it writes nothing.
func (s *QueryXML) WriteDocument(*smithy.Schema, document.Value) {}

// WriteNil writes nothing: absent members are simply omitted in XML.
func (s *QueryXML) WriteNil(sc *smithy.Schema) {}

// WriteStruct opens an element.
func (s *QueryXML) WriteStruct(sc *smithy.Schema) {
	if sc == nil && len(s.frames) == 0 {
		// An operation without output (Smithy's Unit, serialized with no
		// schema): awsQuery services send no <OpResult> at all, only
		// ResponseMetadata.
		s.frames = append(s.frames, xmlFrame{kind: objectFrame})
		return
	}
	n := s.ename(sc)
	s.buf.WriteString("<" + n + ">")
	s.frames = append(s.frames, xmlFrame{kind: objectFrame, name: n})
}

// CloseStruct closes an element.
func (s *QueryXML) CloseStruct() { s.closeFrame() }

func (s *QueryXML) closeFrame() {
	top := s.frames[len(s.frames)-1]
	if top.entryOpen {
		s.buf.WriteString("</entry>")
	}
	if top.name != "" {
		s.buf.WriteString("</" + top.name + ">")
	}
	s.frames = s.frames[:len(s.frames)-1]
}

// WriteList opens a list: wrapped in the member's element with <member> (or
// the list member's @xmlName) items, or flattened into repeated elements.
func (s *QueryXML) WriteList(sc *smithy.Schema) {
	n := s.ename(sc)
	item := "member"
	if lm := sc.ListMember(); lm != nil {
		if t, ok := smithy.SchemaDirectTrait[*traits.XMLName](lm); ok {
			item = t.Name
		}
	}
	if _, flat := smithy.SchemaTrait[*traits.XMLFlattened](sc); flat {
		s.frames = append(s.frames, xmlFrame{kind: listFrame, itemName: n})
		return
	}
	s.buf.WriteString("<" + n + ">")
	s.frames = append(s.frames, xmlFrame{kind: listFrame, name: n, itemName: item})
}

// CloseList closes a list.
func (s *QueryXML) CloseList() { s.closeFrame() }

// WriteMap opens a map of <entry><key/><value/></entry>.
func (s *QueryXML) WriteMap(sc *smithy.Schema) {
	n := s.ename(sc)
	s.buf.WriteString("<" + n + ">")
	s.frames = append(s.frames, xmlFrame{kind: objectFrame, name: n, isMap: true})
}

// WriteKey starts a map entry; the next write is its value.
func (s *QueryXML) WriteKey(_ *smithy.Schema, k string) {
	top := &s.frames[len(s.frames)-1]
	if top.entryOpen {
		s.buf.WriteString("</entry>")
	}
	s.buf.WriteString("<entry><key>")
	_ = xml.EscapeText(&s.buf, []byte(k))
	s.buf.WriteString("</key>")
	top.entryOpen = true
	top.keyDone = true
}

// CloseMap closes a map.
func (s *QueryXML) CloseMap() { s.closeFrame() }
