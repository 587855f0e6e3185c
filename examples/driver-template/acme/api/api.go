// Package api is the Acme cloud's API: its objects, its errors and a small
// client. It stands in for a real cloud's official SDK (which your driver
// would import instead); the emulator serves the same API.
//
// The API is REST over JSON under /v1:
//
//	POST   /v1/{kind}                  create; the same client_token returns the same object
//	GET    /v1/{kind}?tag=KEY=VALUE    list, by tag
//	GET    /v1/{kind}/{id}             read
//	PATCH  /v1/{kind}/{id}             change the spec
//	DELETE /v1/{kind}/{id}             delete
//
// Kinds are networks, clusters and nodepools. Errors are
// {"code": "not_found" | "invalid" | "conflict" | "throttled", "message": "..."}
// with the matching HTTP status (404, 400, 409, 429 with Retry-After).
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// The kinds of object the cloud has.
const (
	Networks  = "networks"
	Clusters  = "clusters"
	NodePools = "nodepools"
)

// Object is one object of the cloud.
type Object struct {
	ID   string            `json:"id"`
	Kind string            `json:"kind"`
	Tags map[string]string `json:"tags,omitempty"`
	// Spec is the kind's spec: NetworkSpec, ClusterSpec or NodePoolSpec.
	Spec json.RawMessage `json:"spec"`
	// Status is "provisioning" (clusters, for a moment) or "running".
	Status string `json:"status"`
	// Endpoint is a cluster's API server URL.
	Endpoint string `json:"endpoint,omitempty"`
}

// NetworkSpec is a network's spec.
type NetworkSpec struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
}

// ClusterSpec is a Kubernetes cluster's spec.
type ClusterSpec struct {
	Name      string `json:"name"`
	NetworkID string `json:"network_id"`
	Version   string `json:"version"`
}

// NodePoolSpec is a node pool's spec.
type NodePoolSpec struct {
	Name      string `json:"name"`
	ClusterID string `json:"cluster_id"`
	Size      string `json:"size"`
	Min       int    `json:"min"`
	Max       int    `json:"max"`
}

// CreateRequest is the body of a create.
type CreateRequest struct {
	// ClientToken makes the create idempotent: a second create with the
	// same token returns the first one's object.
	ClientToken string            `json:"client_token"`
	Tags        map[string]string `json:"tags,omitempty"`
	Spec        any               `json:"spec"`
}

// Error is an error the API returned.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter is the wait a 429 asked for.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("acme: %s (%d %s)", e.Message, e.Status, e.Code) }

// Client calls the API at BaseURL ("http://127.0.0.1:PORT").
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

// Create makes an object of kind.
func (c *Client) Create(ctx context.Context, kind string, req CreateRequest) (Object, error) {
	var obj Object
	return obj, c.do(ctx, http.MethodPost, "/v1/"+kind, req, &obj)
}

// Get reads an object; an object that does not exist is an *Error with
// code "not_found".
func (c *Client) Get(ctx context.Context, kind, id string) (Object, error) {
	var obj Object
	return obj, c.do(ctx, http.MethodGet, "/v1/"+kind+"/"+url.PathEscape(id), nil, &obj)
}

// Update replaces an object's spec.
func (c *Client) Update(ctx context.Context, kind, id string, spec any) (Object, error) {
	var obj Object
	return obj, c.do(ctx, http.MethodPatch, "/v1/"+kind+"/"+url.PathEscape(id), map[string]any{"spec": spec}, &obj)
}

// Delete removes an object.
func (c *Client) Delete(ctx context.Context, kind, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/"+kind+"/"+url.PathEscape(id), nil, nil)
}

// List returns the objects of kind tagged key=value.
func (c *Client) List(ctx context.Context, kind, key, value string) ([]Object, error) {
	var out struct {
		Objects []Object `json:"objects"`
	}
	q := url.Values{"tag": {key + "=" + value}}
	return out.Objects, c.do(ctx, http.MethodGet, "/v1/"+kind+"?"+q.Encode(), nil, &out)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code, e.Message = "unknown", string(data)
		}
		if s := resp.Header.Get("Retry-After"); s != "" {
			var secs int
			if _, err := fmt.Sscan(s, &secs); err == nil {
				e.RetryAfter = time.Duration(secs) * time.Second
			}
		}
		return e
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}
