package budget

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTransportPacesAndSlowsDownOn429: every request takes a token of the
// bucket its Key names, and a 429 counts as a throttle of that bucket only.
func TestTransportPacesAndSlowsDownOn429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	b := New(map[string]Table{"acme": {"read": {Burst: 100, Rate: 100}, "write": {Burst: 100, Rate: 100}}}, Enforced)
	client := &http.Client{Transport: Transport{Budgets: b, Key: func(r *http.Request) Key {
		if r.Method == http.MethodGet {
			return Key{Cloud: "acme", Bucket: "read"}
		}
		return Key{Cloud: "acme", Bucket: "write"}
	}}}
	for _, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, srv.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	got := map[string]Stat{}
	for _, s := range b.Stats() {
		got[s.Key.Bucket] = s
	}
	if r, w := got["read"], got["write"]; r.Taken != 2 || r.Throttles != 0 || w.Taken != 1 || w.Throttles != 1 {
		t.Errorf("read %+v, write %+v; want 2 reads taken, 1 write taken and throttled", r, w)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"7": 7 * time.Second, "": 0, "soon": 0, "-3": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
