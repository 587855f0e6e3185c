package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DidYouMean returns the candidate closest to got when it is close enough to
// be a plausible typo: equal ignoring case, or within a small edit distance
// that grows with the length of the word. Ties go to the earliest candidate,
// so callers should pass candidates in a stable order. Drivers may use it for
// their own suggestions (locations, override keys).
func DidYouMean(got string, candidates []string) (string, bool) {
	best, bestDist := "", -1
	lg := strings.ToLower(got)
	for _, c := range candidates {
		if c == got {
			continue
		}
		if strings.ToLower(c) == lg {
			return c, true
		}
		d := editDistance(lg, strings.ToLower(c))
		if d <= maxTypos(c) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best, bestDist >= 0
}

// maxTypos is how many edits still count as a typo of word.
func maxTypos(word string) int {
	switch n := len(word); {
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit (optimal string alignment), in bytes.
func editDistance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		// Nobody mistypes a 256-byte word; avoid quadratic work on junk.
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// enumFix is the fix for a value that is not one of allowed: a suggestion
// when one is close, and always the list of allowed values.
func enumFix(got string, allowed []string) string {
	list := quoteList(allowed)
	if s, ok := DidYouMean(got, allowed); ok {
		return fmt.Sprintf("did you mean %q? (allowed: %s)", s, list)
	}
	return "use one of " + list
}

// quoteList renders values as "a", "b", "c".
func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
