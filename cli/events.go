package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/plan"
)

// Log formats (--log-format).
const (
	logHuman = "human"
	logJSON  = "json"
)

// EventsFormatVersion is the version of the JSON event stream
// (--log-format json, --events-file); docs/ci.md describes it.
const EventsFormatVersion = "1"

// event is one line of the JSON event stream.
type event struct {
	Version string `json:"v"`
	Time    string `json:"time"`
	// Type is refresh-start, refresh, start, tick, finish, fail, skip,
	// retry, diagnostic or summary.
	Type      string  `json:"type"`
	Region    string  `json:"region,omitempty"`
	Address   string  `json:"address,omitempty"`
	Action    string  `json:"action,omitempty"`
	ElapsedMS *int64  `json:"elapsed_ms,omitempty"`
	Total     int     `json:"total,omitempty"`
	Error     string  `json:"error,omitempty"`
	Cause     string  `json:"cause,omitempty"`
	Severity  string  `json:"severity,omitempty"`
	Source    string  `json:"source,omitempty"`
	Summary   string  `json:"summary,omitempty"`
	Pos       string  `json:"pos,omitempty"`
	Path      string  `json:"path,omitempty"`
	Counts    *counts `json:"counts,omitempty"`
	Problems  int     `json:"problems,omitempty"`
}

type counts struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Destroyed int `json:"destroyed"`
}

// eventLog writes one JSON object per line for every engine event,
// diagnostic and final summary. A nil *eventLog writes nothing.
type eventLog struct {
	mu   sync.Mutex
	w    io.Writer
	file *os.File // --events-file, closed by close
}

// openEvents builds the event log the flags ask for: JSON on stderr with
// --log-format json, and/or to --events-file.
func openEvents(stderr io.Writer, format, file string) (*eventLog, error) {
	var ws []io.Writer
	l := &eventLog{}
	if format == logJSON {
		ws = append(ws, stderr)
	}
	if file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--events-file: %w", err)
		}
		l.file = f
		ws = append(ws, f)
	}
	if len(ws) == 0 {
		return nil, nil
	}
	l.w = io.MultiWriter(ws...)
	return l, nil
}

func (l *eventLog) close() {
	if l != nil && l.file != nil {
		_ = l.file.Close()
	}
}

func (l *eventLog) write(e event) {
	if l == nil {
		return
	}
	e.Version = EventsFormatVersion
	e.Time = time.Now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(b, '\n'))
}

// OnEvent implements plan.Observer.
func (l *eventLog) OnEvent(ev plan.Event) {
	e := event{Type: ev.Kind.String(), Region: ev.Region, Address: ev.Address, Cause: ev.Cause, Total: ev.Total}
	switch ev.Kind {
	case plan.EventStart, plan.EventTick, plan.EventFinish, plan.EventFail, plan.EventSkip:
		e.Action = ev.Action.String()
	case plan.EventRetry:
		if ev.Address != "" {
			e.Action = ev.Action.String()
		}
	}
	switch ev.Kind {
	case plan.EventTick, plan.EventFinish, plan.EventFail:
		ms := ev.Elapsed.Milliseconds()
		e.ElapsedMS = &ms
	}
	if ev.Err != nil {
		e.Error = ev.Err.Error()
	}
	l.write(e)
}

func (l *eventLog) diagnostics(ds diag.Diagnostics) {
	for _, d := range ds {
		src := string(d.Source)
		if src == "" {
			src = "spec"
		}
		l.write(event{Type: "diagnostic", Severity: d.Severity.String(), Source: src, Summary: d.Summary, Pos: d.Pos.String(), Path: d.Path})
	}
}

func (l *eventLog) summary(verb string, added, changed, destroyed int, elapsed time.Duration, failures []string) {
	ms := elapsed.Milliseconds()
	e := event{Type: "summary", Action: verb, ElapsedMS: &ms, Counts: &counts{added, changed, destroyed}, Problems: len(failures)}
	l.write(e)
}

// observers fans one engine event out to several observers.
type observers []plan.Observer

func (os observers) OnEvent(ev plan.Event) {
	for _, o := range os {
		o.OnEvent(ev)
	}
}
