package gcs

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/internal/servertest"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/internal/objstore"
	"github.com/regionctl/regionctl/state/statetest"
)

const testBucket = "regionctl-test"

var bucketOnce sync.Once

// newTestClient returns a client on fake-gcs-server (started by
// scripts/test-servers.sh), reached through STORAGE_EMULATOR_HOST as any
// program using the SDK would, with the test bucket created.
func newTestClient(t *testing.T) *storage.Client {
	t.Helper()
	host := servertest.Env(t, "REGIONCTL_TEST_GCS_ENDPOINT")[0]
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	ctx := context.Background()
	client, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	bucketOnce.Do(func() {
		err = client.Bucket(testBucket).Create(ctx, "regionctl-test", nil)
		if err != nil && strings.Contains(err.Error(), "409") {
			err = nil // created by an earlier run
		}
	})
	if err != nil {
		t.Fatalf("create bucket %s: %v", testBucket, err)
	}
	return client
}

func harness(client *storage.Client) statetest.Harness {
	return statetest.Harness{
		New: func(t *testing.T) state.Backend {
			// Each subtest gets its own prefix: a fresh, empty store.
			return NewWithClient(client, Config{Bucket: testBucket, Prefix: "statetest/" + uuid.NewString()})
		},
		Open: func(_ *testing.T, b state.Backend) state.Backend {
			return NewWithClient(client, b.(*Backend).Config())
		},
		Corrupt: func(t *testing.T, b state.Backend, region string) {
			be := b.(*Backend)
			w := client.Bucket(testBucket).Object(be.StateKey(region)).NewWriter(context.Background())
			w.Write([]byte(`{"version": 1, "lineage": "x", "resou`))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		},
		Raw: func(t *testing.T, b state.Backend, region string) []byte {
			r, err := client.Bucket(testBucket).Object(b.(*Backend).StateKey(region)).NewReader(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			data, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			return data
		},
	}
}

func TestConformance(t *testing.T) {
	statetest.Run(t, harness(newTestClient(t)))
}

// TestMissingBucketIsNotNoState checks that a bucket that does not exist is
// an error, never "no state" (which would plan to create everything again).
func TestMissingBucketIsNotNoState(t *testing.T) {
	client := newTestClient(t)
	b := NewWithClient(client, Config{Bucket: "no-such-bucket-" + uuid.NewString()[:8]})
	_, err := b.Read(context.Background(), "eu-1")
	if err == nil || errors.Is(err, state.ErrNoState) {
		t.Fatalf("Read from a missing bucket: err = %v, want an error that is not ErrNoState", err)
	}
}

// TestServerHonoursPreconditions checks, below the backend, that the server
// refuses writes whose generation precondition fails: the conformance suite
// alone could pass on a server that ignored them when no race happened to
// hit the window. (fake-gcs-server v1.56.1 ignores ifGenerationMatch on
// DELETE, which is why the backend never deletes conditionally.)
func TestServerHonoursPreconditions(t *testing.T) {
	ctx := context.Background()
	s := &store{client: newTestClient(t), bucket: testBucket}
	key := "preconditions/" + uuid.NewString()
	if err := s.Put(ctx, key, []byte("one"), ""); err != nil {
		t.Fatalf("create: %v", err)
	}
	_, v1, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("again"), ""); !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("create over an existing object (ifGenerationMatch=0): err = %v, want ErrPrecondition", err)
	}
	if err := s.Put(ctx, key, []byte("two"), v1); err != nil {
		t.Fatalf("write at the generation read: %v", err)
	}
	if err := s.Put(ctx, key, []byte("stale"), v1); !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("write at a stale generation: err = %v, want ErrPrecondition", err)
	}
	if data, _, err := s.Get(ctx, key); err != nil || string(data) != "two" {
		t.Fatalf("after refused writes: %q, %v; want \"two\"", data, err)
	}
}
