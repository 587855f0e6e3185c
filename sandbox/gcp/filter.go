package gcp

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Compute list filters (the `filter` query parameter of list and
// aggregatedList), as documented for the API:
//
//	name = "nodes"                      field, operator, value
//	labels.env != prod                  nested fields by their JSON names
//	creationTimestamp > "2026-01-01"    = != > < >= <=
//	labels.owner:*                      ':' has: presence, or a value with * wildcards
//	(region = "…") (name = "a*")        parenthesized expressions, AND by default
//	(a = 1) OR (b = 2)                  explicit AND / OR (OR binds tighter), NOT
//	name eq "nodes-.*"                  eq / ne: the whole value matches an RE2 regexp
//
// '=' and '!=' take * wildcards too. A field that is a list matches when any
// element does. Anything else is refused (400 invalid), never ignored.

type filterExpr interface {
	match(obj map[string]any) bool
}

type andExpr []filterExpr

func (a andExpr) match(o map[string]any) bool {
	for _, x := range a {
		if !x.match(o) {
			return false
		}
	}
	return true
}

type orExpr []filterExpr

func (a orExpr) match(o map[string]any) bool {
	for _, x := range a {
		if x.match(o) {
			return true
		}
	}
	return false
}

type notExpr struct{ x filterExpr }

func (n notExpr) match(o map[string]any) bool { return !n.x.match(o) }

type comparison struct {
	field []string
	op    string
	value string
	re    *regexp.Regexp
}

func (c comparison) match(o map[string]any) bool {
	vals := lookup(o, c.field)
	if c.op == "!=" || c.op == "ne" {
		for _, v := range vals {
			if c.test(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.test(v) {
			return true
		}
	}
	return false
}

// test compares one value with the comparison's operator (ne and != test
// equality; match negates).
func (c comparison) test(v any) bool {
	s := scalarText(v)
	switch c.op {
	case "eq", "ne":
		return c.re.MatchString(s)
	case "=", "!=":
		return globMatch(c.value, s)
	case ":":
		return c.value == "*" || globMatch(c.value, s)
	}
	cmp := compareValues(s, c.value)
	switch c.op {
	case ">":
		return cmp > 0
	case "<":
		return cmp < 0
	case ">=":
		return cmp >= 0
	case "<=":
		return cmp <= 0
	}
	return false
}

func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func compareValues(a, b string) int {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 == nil && err2 == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// lookup returns the values at a dotted path; lists fan out.
func lookup(v any, p []string) []any {
	if list, ok := v.([]any); ok {
		var out []any
		for _, x := range list {
			out = append(out, lookup(x, p)...)
		}
		return out
	}
	if len(p) == 0 {
		return []any{v}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	x, ok := m[p[0]]
	if !ok {
		return nil
	}
	return lookup(x, p[1:])
}

// parseFilter parses a Compute list filter.
func parseFilter(s string) (filterExpr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	x, err := p.sequence()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return x, nil
}

type token struct {
	text   string
	quoted bool
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ':':
			out = append(out, token{text: string(c)})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				out = append(out, token{text: s[i : i+2]})
				i += 2
				continue
			}
			if c == '!' {
				return nil, fmt.Errorf("'!' must be followed by '='")
			}
			out = append(out, token{text: string(c)})
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			out = append(out, token{text: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n()=!<>:\"'", rune(s[j])) {
				j++
			}
			out = append(out, token{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	pos  int
}

func (p *filterParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *filterParser) keyword(k string) bool {
	t, ok := p.peek()
	if ok && !t.quoted && t.text == k {
		p.pos++
		return true
	}
	return false
}

// sequence := factor { [AND] factor }
func (p *filterParser) sequence() (filterExpr, error) {
	var out andExpr
	for {
		t, ok := p.peek()
		if !ok || (!t.quoted && t.text == ")") {
			break
		}
		if len(out) > 0 {
			p.keyword("AND")
		}
		x, err := p.factor()
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// factor := term { OR term }
func (p *filterParser) factor() (filterExpr, error) {
	x, err := p.term()
	if err != nil {
		return nil, err
	}
	out := orExpr{x}
	for p.keyword("OR") {
		y, err := p.term()
		if err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	if len(out) == 1 {
		return x, nil
	}
	return out, nil
}

// term := "(" sequence ")" | NOT term | field op value
func (p *filterParser) term() (filterExpr, error) {
	if p.keyword("NOT") {
		x, err := p.term()
		return notExpr{x}, err
	}
	if p.keyword("(") {
		x, err := p.sequence()
		if err != nil {
			return nil, err
		}
		if !p.keyword(")") {
			return nil, fmt.Errorf("missing ')'")
		}
		return x, nil
	}
	f, ok := p.peek()
	if !ok || f.quoted || strings.ContainsAny(f.text, "()") || f.text == "AND" || f.text == "OR" {
		return nil, fmt.Errorf("expected a field name")
	}
	p.pos++
	op, ok := p.peek()
	if !ok || op.quoted {
		return nil, fmt.Errorf("expected an operator after %q", f.text)
	}
	switch op.text {
	case "=", "!=", ">", "<", ">=", "<=", ":", "eq", "ne":
	default:
		return nil, fmt.Errorf("unknown operator %q", op.text)
	}
	p.pos++
	v, ok := p.peek()
	if !ok || (!v.quoted && (v.text == "(" || v.text == ")")) {
		return nil, fmt.Errorf("expected a value after %s %s", f.text, op.text)
	}
	p.pos++
	c := comparison{field: strings.Split(f.text, "."), op: op.text, value: v.text}
	if op.text == "eq" || op.text == "ne" {
		re, err := regexp.Compile("^(?:" + v.text + ")$")
		if err != nil {
			return nil, fmt.Errorf("bad regular expression %q: %v", v.text, err)
		}
		c.re = re
	}
	return c, nil
}
