package wire

//go:generate go run ./ec2gen

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strconv"
	"time"
)

// EC2Namespace is the XML namespace of EC2 API replies.
const EC2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// MarshalEC2 renders an EC2 SDK output struct (e.g. ec2.DescribeVpcsOutput)
// as the <OpResponse> document the ec2Query deserializer reads: elements named
// as in ec2names_gen.go, lists as <xSet><item>…</item></xSet>.
func MarshalEC2(op string, out any, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString("<" + op + `Response xmlns="` + EC2Namespace + `">`)
	b.WriteString("<requestId>" + requestID + "</requestId>")
	v := reflect.ValueOf(out)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	ec2Struct(&b, v)
	b.WriteString("</" + op + "Response>")
	return b.Bytes()
}

// HasEC2Names reports whether the generated table knows type name t; tests use
// it to prove every type the emulator emits is covered.
func HasEC2Names(t string) bool { return ec2Names[t] != nil }

func ec2Struct(b *bytes.Buffer, v reflect.Value) {
	t := v.Type()
	names := ec2Names[t.Name()]
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		el, ok := names[f.Name]
		if !ok || !f.IsExported() {
			continue
		}
		ec2Value(b, el, v.Field(i), false)
	}
}

var timeType = reflect.TypeOf(time.Time{})

func ec2Value(b *bytes.Buffer, el string, v reflect.Value, present bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		ec2Value(b, el, v.Elem(), true)
		return
	}
	text := func(s string) {
		b.WriteString("<" + el + ">")
		_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer write cannot fail
		b.WriteString("</" + el + ">")
	}
	switch v.Kind() {
	case reflect.String:
		if present || v.String() != "" {
			text(v.String())
		}
	case reflect.Bool:
		if present || v.Bool() {
			text(strconv.FormatBool(v.Bool()))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if present || v.Int() != 0 {
			text(strconv.FormatInt(v.Int(), 10))
		}
	case reflect.Float32, reflect.Float64:
		if present || v.Float() != 0 {
			text(strconv.FormatFloat(v.Float(), 'f', -1, 64))
		}
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		b.WriteString("<" + el + ">")
		for i := 0; i < v.Len(); i++ {
			ec2Value(b, "item", v.Index(i), true)
		}
		b.WriteString("</" + el + ">")
	case reflect.Struct:
		if v.Type() == timeType {
			text(v.Interface().(time.Time).UTC().Format("2006-01-02T15:04:05.000Z"))
			return
		}
		b.WriteString("<" + el + ">")
		ec2Struct(b, v)
		b.WriteString("</" + el + ">")
	}
}
