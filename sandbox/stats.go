package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// StatsPath answers a running sandbox's request log on every endpoint
// (GET, JSON: Stats); no cloud API uses it. `regionctl sandbox stats`
// prints it.
const StatsPath = "/_sandbox/stats"

// Stats is what a sandbox has served since it started.
type Stats struct {
	// Requests counts the requests received per operation
	// ("eks:CreateCluster"), including the ones answered with a fault or
	// a throttle and SDK retries; Throttled those refused because their
	// rate budget was empty (Options.Throttle).
	Requests  map[string]int `json:"requests"`
	Throttled map[string]int `json:"throttled"`
	// Budgets are the rate budget buckets requests drew from, with how
	// many each refused (Throttle only).
	Budgets []BudgetStat `json:"budgets,omitempty"`
	// Started is when the sandbox started; PeakRSSKiB the sandbox
	// process's peak resident memory (its kube-apiservers, separate
	// processes, not included).
	Started    time.Time `json:"started"`
	PeakRSSKiB int64     `json:"peakRSSKiB"`
	// CPUSeconds is the CPU time (user and system) the sandbox process
	// used so far.
	CPUSeconds float64 `json:"cpuSeconds"`
}

// BudgetStat is one bucket of an enforced rate budget.
type BudgetStat struct {
	Key   string  `json:"key"`
	Burst int     `json:"burst"`
	Rate  float64 `json:"rate"`
	// Requests were let through, Throttled refused.
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"`
}

// CloudCalls is the number of requests to the clouds' APIs: every request
// but the sandbox's own documents and the token endpoints.
func (st Stats) CloudCalls() int {
	n := 0
	for op, c := range st.Requests {
		if IsCloudOperation(op) {
			n += c
		}
	}
	return n
}

// IsCloudOperation reports whether op is a call to a cloud API, not to the
// sandbox's plumbing (its documents, OAuth2 and Entra ID tokens, ARM
// metadata, STS).
func IsCloudOperation(op string) bool {
	for _, p := range []string{"sandbox:", "oauth2:", "sts:", "entra:", "azure:metadataEndpoints"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

// Stats returns the request log, the rate budgets' refusals and the
// sandbox's peak memory.
func (s *Sandbox) Stats() Stats {
	st := Stats{Requests: s.Requests(), Throttled: map[string]int{}, Started: s.started}
	st.PeakRSSKiB, st.CPUSeconds = usage()
	s.mu.Lock()
	for k, v := range s.throttled {
		st.Throttled[k] = v
	}
	s.mu.Unlock()
	if s.budgets != nil {
		for _, b := range s.budgets.Stats() {
			st.Budgets = append(st.Budgets, BudgetStat{Key: b.Key.String(), Burst: b.Burst, Rate: b.Rate, Requests: b.Taken, Throttled: b.Throttles})
		}
		sort.Slice(st.Budgets, func(i, j int) bool { return st.Budgets[i].Key < st.Budgets[j].Key })
	}
	return st
}

// usage is this process's peak resident set size and CPU time.
func usage() (peakKiB int64, cpu float64) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	secs := func(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return ru.Maxrss, secs(ru.Utime) + secs(ru.Stime) // Maxrss: KiB on Linux
}

func (s *Sandbox) serveStats(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Stats()) // the client went away; nothing to do
}

// overBudget takes a token for the request from its rate budget bucket
// (Options.Throttle) and reports whether the bucket was empty.
func (s *Sandbox) overBudget(e emu.Emulator, r *http.Request, op string) bool {
	m, ok := e.(emu.Metered)
	if !ok || s.budgets == nil {
		return false
	}
	key, ok := m.BudgetKey(r, op)
	return ok && s.take(op, key)
}

// take takes a token from key's bucket; true when there was none (the
// request is throttled, and counted).
func (s *Sandbox) take(op string, key budget.Key) bool {
	if ok, _ := s.budgets.Take(key); ok {
		return false
	}
	s.mu.Lock()
	s.throttled[op]++
	s.mu.Unlock()
	return true
}

// ReadStats asks the sandbox that published dir's endpoints for its Stats.
func ReadStats(dir string) (Stats, error) {
	ep, err := ReadEndpoints(dir)
	if err != nil {
		return Stats{}, err
	}
	url := ep.Endpoints["aws"]
	if url == "" {
		return Stats{}, fmt.Errorf("sandbox: %s names no aws endpoint", dir)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url + StatsPath)
	if err != nil {
		return Stats{}, fmt.Errorf("sandbox: ask pid %d for its stats: %w", ep.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Stats{}, fmt.Errorf("sandbox: stats: %s", resp.Status)
	}
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Stats{}, fmt.Errorf("sandbox: decode stats: %w", err)
	}
	return st, nil
}

// CloudCalls is the number of cloud API requests served so far (see
// Stats.CloudCalls).
func (s *Sandbox) CloudCalls() int { return Stats{Requests: s.Requests()}.CloudCalls() }
