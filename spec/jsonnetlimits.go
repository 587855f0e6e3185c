package spec

import (
	"bytes"
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/regionctl/regionctl/diag"
)

// Bounds on Jsonnet evaluation. go-jsonnet parses and evaluates by
// recursion, and a Go stack overflow kills the whole process (recover
// cannot catch it): a program 10,000 brackets deep took 1.1 GB of memory
// and then crashed regionctl; 5,000 took 890 MB. So every Jsonnet file — the
// program and each file it imports — is scanned before go-jsonnet sees it,
// and one that nests deeper than MaxJsonnetNesting is refused with the
// position where it does. Evaluation itself is bounded by MaxJsonnetStack
// calls and LoadOptions.MaxJsonnetMemory (DefaultJsonnetMemory) bytes of
// heap.
const (
	// MaxJsonnetNesting bounds how deeply a Jsonnet file may nest, as the
	// parser and evaluator recurse on it: every open bracket ((, [, {)
	// counts 16 — go-jsonnet's parser descends through every precedence
	// level for each — and every other token of an expression still open
	// at that point counts 1 (a chain of operators, a run of locals). It
	// allows about 300 nested brackets, far more than any real spec, and
	// keeps the worst case near 70 MB.
	MaxJsonnetNesting = 5000
	// nestingPerBracket is what an open bracket counts (see above).
	nestingPerBracket = 16
	// MaxJsonnetStack is go-jsonnet's MaxStack: how many calls (functions,
	// fields being manifested) evaluation may nest. It is go-jsonnet's
	// default, set explicitly so a new default cannot loosen it.
	MaxJsonnetStack = 500
	// DefaultJsonnetMemory bounds how much the Go heap may grow while one
	// Jsonnet program is evaluated (std.range(1, 1e9) and the like): past
	// it, loading fails rather than letting the program exhaust memory.
	// go-jsonnet needs about 60 KB per region a program renders, so this
	// allows some 700 regions in one program (LoadOptions.MaxJsonnetMemory
	// raises it) while a runaway program stops with regionctl under 200 MB.
	DefaultJsonnetMemory = 64 << 20
)

// nestingLevel is one open bracket (or the top level) of a file.
type nestingLevel struct {
	// tokens of the expression open at this level since its last comma.
	tokens int
	// marks are tokens just after each `local` or `assert` keyword whose
	// `;` is still to come: a `,` or `;` ends a bound value, whose tokens
	// no longer count, while the keyword's body nests one deeper.
	marks []int
}

// checkNesting scans a Jsonnet source and returns an error diagnostic at
// the first place it nests deeper than MaxJsonnetNesting, or nil. It knows
// Jsonnet's comments and string forms (quoted, verbatim @"", text blocks),
// so brackets inside them do not count; anything it does not understand is
// left for go-jsonnet to report.
func checkNesting(file string, src []byte) *diag.Diagnostic {
	s := scanner{src: src, line: 1, col: 1}
	levels := []nestingLevel{{}}
	depth := 0 // sum over levels of their tokens, plus brackets
	refuse := func(line, col int) *diag.Diagnostic {
		brackets := len(levels) - 1
		return &diag.Diagnostic{
			Severity: diag.Error, Pos: diag.Pos{File: file, Line: line, Column: col},
			Summary: fmt.Sprintf("the Jsonnet program nests too deeply here (%d brackets open, %d operators, locals and terms chained): regionctl evaluates at most %d levels, counting %d per bracket and 1 per chained term, so that evaluating it cannot exhaust memory",
				brackets, depth-brackets*(1+nestingPerBracket), MaxJsonnetNesting, nestingPerBracket),
			Fix: "build deep or long structures with functions over arrays (std.foldl, std.map, comprehensions) instead of writing them out, or split long expressions with locals",
		}
	}
	for {
		line, col := s.line, s.col
		tok, ok := s.next()
		if !ok {
			return nil
		}
		cur := &levels[len(levels)-1]
		switch tok {
		case "(", "[", "{":
			cur.tokens++
			depth += 1 + nestingPerBracket
			levels = append(levels, nestingLevel{})
		case ")", "]", "}":
			if len(levels) == 1 {
				return nil // unbalanced: go-jsonnet says where
			}
			depth -= cur.tokens + nestingPerBracket
			levels = levels[:len(levels)-1]
		case ",":
			// Ends an element, field or argument — or, after a local, a
			// binding: the local's body is still to come.
			keep := 0
			if n := len(cur.marks); n > 0 {
				keep = cur.marks[n-1]
			}
			depth -= cur.tokens - keep
			cur.tokens = keep
		case ";":
			if n := len(cur.marks); n > 0 {
				depth -= cur.tokens - cur.marks[n-1]
				cur.tokens = cur.marks[n-1]
				cur.marks = cur.marks[:n-1]
			} else {
				cur.tokens++
				depth++
			}
		case "local", "assert":
			cur.tokens++
			depth++
			cur.marks = append(cur.marks, cur.tokens)
		default:
			cur.tokens++
			depth++
		}
		if depth > MaxJsonnetNesting {
			return refuse(line, col)
		}
	}
}

// scanner splits Jsonnet source into the tokens checkNesting needs:
// brackets, commas, semicolons, words and single other characters, skipping
// whitespace, comments and strings (a string is returned as one token).
type scanner struct {
	src       []byte
	i         int
	line, col int
}

func (s *scanner) advance(n int) {
	for ; n > 0 && s.i < len(s.src); n-- {
		if s.src[s.i] == '\n' {
			s.line, s.col = s.line+1, 1
		} else {
			s.col++
		}
		s.i++
	}
}

func (s *scanner) rest() []byte { return s.src[s.i:] }

// skipTo advances past the first occurrence of end, or to the end of input.
func (s *scanner) skipTo(end string) {
	j := bytes.Index(s.rest(), []byte(end))
	if j < 0 {
		s.advance(len(s.src))
		return
	}
	s.advance(j + len(end))
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// next returns the next token, or false at the end of input.
func (s *scanner) next() (string, bool) {
	for s.i < len(s.src) {
		c := s.src[s.i]
		rest := s.rest()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance(1)
		case c == '#' || bytes.HasPrefix(rest, []byte("//")):
			s.skipTo("\n")
		case bytes.HasPrefix(rest, []byte("/*")):
			s.advance(2)
			s.skipTo("*/")
		case c == '"' || c == '\'':
			s.advance(1)
			s.skipQuoted(c)
			return "string", true
		case c == '@' && len(rest) > 1 && (rest[1] == '"' || rest[1] == '\''):
			q := rest[1]
			s.advance(2)
			s.skipVerbatim(q)
			return "string", true
		case bytes.HasPrefix(rest, []byte("|||")):
			s.advance(3)
			s.skipTextBlock()
			return "string", true
		case isWordByte(c):
			j := 1
			for j < len(rest) && isWordByte(rest[j]) {
				j++
			}
			s.advance(j)
			return string(rest[:j]), true
		default:
			s.advance(1)
			return string(rest[:1]), true
		}
	}
	return "", false
}

// skipQuoted skips the rest of a "…" or '…' string with backslash escapes.
func (s *scanner) skipQuoted(q byte) {
	for s.i < len(s.src) {
		c := s.src[s.i]
		if c == '\\' {
			s.advance(2)
			continue
		}
		s.advance(1)
		if c == q {
			return
		}
	}
}

// skipVerbatim skips the rest of an @"…" string, where "" is a quote.
func (s *scanner) skipVerbatim(q byte) {
	for s.i < len(s.src) {
		c := s.src[s.i]
		s.advance(1)
		if c != q {
			continue
		}
		if s.i < len(s.src) && s.src[s.i] == q {
			s.advance(1)
			continue
		}
		return
	}
}

// skipTextBlock skips a ||| text block: it ends at a line whose first
// non-blank characters are |||.
func (s *scanner) skipTextBlock() {
	for {
		s.skipTo("\n")
		if s.i >= len(s.src) {
			return
		}
		j := s.i
		for j < len(s.src) && (s.src[j] == ' ' || s.src[j] == '\t') {
			j++
		}
		if bytes.HasPrefix(s.src[j:], []byte("|||")) {
			s.advance(j - s.i + 3)
			return
		}
	}
}

// heapWatch reports when the Go heap has grown by more than a limit since
// it started.
type heapWatch struct {
	exceeded chan struct{}
	done     chan struct{}
}

// heapSample is how often heapWatch looks at the heap: often enough that a
// runaway allocation overshoots the limit by little.
const heapSample = 10 * time.Millisecond

// watchHeap starts watching for limit bytes of heap growth; call stop when
// the work it guards is over. The heap is the whole process's, so other
// work allocating at the same time counts too (the CLI loads specs before
// doing anything else). Evaluation cannot be interrupted (go-jsonnet has no
// cancellation), so the caller can only stop waiting for it: the CLI then
// exits, which ends it.
func watchHeap(limit uint64) *heapWatch {
	w := &heapWatch{exceeded: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return sample[0].Value.Uint64()
	}
	start := read()
	go func() {
		t := time.NewTicker(heapSample)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				if read() > start+limit {
					close(w.exceeded)
					return
				}
			}
		}
	}()
	return w
}

func (w *heapWatch) stop() { close(w.done) }
