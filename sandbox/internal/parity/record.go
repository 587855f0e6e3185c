package parity

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Exchange is one request and its reply, as the client saw them.
type Exchange struct {
	Method    string
	URL       string // the full request URL
	ReqHeader http.Header
	ReqBody   []byte
	Status    int
	Header    http.Header
	Body      []byte
}

// Recorder is an http.RoundTripper that keeps every exchange it carries.
// Give it to an SDK client (aws.Config.HTTPClient, policy.ClientOptions.
// Transport, option.WithHTTPClient) to record what the client and the
// emulator said.
type Recorder struct {
	Next http.RoundTripper // http.DefaultTransport when nil

	mu sync.Mutex
	ex []Exchange
}

// RoundTrip sends req through Next and records the exchange.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	next := r.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.ex = append(r.ex, Exchange{Method: req.Method, URL: req.URL.String(), ReqHeader: req.Header.Clone(), ReqBody: reqBody,
		Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body})
	r.mu.Unlock()
	return resp, nil
}

// Do implements the Do method of the HTTP client interfaces SDKs take
// (aws.HTTPClient), through RoundTrip.
func (r *Recorder) Do(req *http.Request) (*http.Response, error) { return r.RoundTrip(req) }

// Exchanges returns what was recorded so far and forgets it.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	ex := r.ex
	r.ex = nil
	return ex
}

// SendJSON sends one request with a JSON body (nil for none) and a bearer
// token through the recorder and returns the exchange.
func (r *Recorder) SendJSON(method, url, bearer string, body []byte) (Exchange, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return Exchange{}, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.RoundTrip(req)
	if err != nil {
		return Exchange{}, err
	}
	resp.Body.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ex[len(r.ex)-1], nil
}
