package azblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/internal/servertest"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

// newTestBackend returns a backend built by New on a new container of
// Azurite (started by scripts/test-servers.sh), with its well-known
// development account key given as AZURE_STORAGE_KEY: the SDK's shared-key
// credential.
func newTestBackend(t *testing.T) *Backend {
	t.Helper()
	env := servertest.Env(t, "REGIONCTL_TEST_AZBLOB_ENDPOINT", "REGIONCTL_TEST_AZBLOB_ACCOUNT", "REGIONCTL_TEST_AZBLOB_KEY")
	getenv := func(k string) string {
		if k == "AZURE_STORAGE_KEY" {
			return env[2]
		}
		return ""
	}
	ctx := context.Background()
	cfg := Config{Account: env[1], Container: "regionctl-test-" + uuid.NewString()[:8], Prefix: "fleet", Endpoint: env[0]}
	b, err := New(ctx, cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().Create(ctx, nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
	return b
}

func putRaw(t *testing.T, b *Backend, key string, data []byte) {
	t.Helper()
	_, err := b.Client().NewBlockBlobClient(key).Upload(context.Background(), streaming.NopCloser(bytes.NewReader(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
}

func getRaw(t *testing.T, b *Backend, key string) []byte {
	t.Helper()
	resp, err := b.Client().NewBlobClient(key).DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestConformance(t *testing.T) {
	base := newTestBackend(t)
	statetest.Run(t, statetest.Harness{
		New: func(t *testing.T) state.Backend {
			// Each subtest gets its own prefix: a fresh, empty store.
			return NewWithClient(base.Client(), "statetest/"+uuid.NewString())
		},
		Open: func(_ *testing.T, b state.Backend) state.Backend {
			return NewWithClient(base.Client(), b.(*Backend).Prefix())
		},
		Corrupt: func(t *testing.T, b state.Backend, region string) {
			putRaw(t, b.(*Backend), b.(*Backend).StateKey(region), []byte(`{"version": 1, "lineage": "x", "resou`))
		},
		Raw: func(t *testing.T, b state.Backend, region string) []byte {
			return getRaw(t, b.(*Backend), b.(*Backend).StateKey(region))
		},
	})
}

// TestLeaseGuardsTheRecord checks that the lock blob's lease is real: a
// client that does not hold it cannot overwrite or delete the record, while
// the holder's renewals and unlock go through.
func TestLeaseGuardsTheRecord(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t)
	got, err := b.Lock(ctx, "eu-1", state.LockInfo{Who: "alice", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	key := b.LockKey("eu-1")
	_, err = b.Client().NewBlockBlobClient(key).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte("{}"))), nil)
	if err == nil {
		t.Fatal("an upload without the lease ID overwrote a leased lock blob")
	}
	if _, err := b.Client().NewBlobClient(key).Delete(ctx, nil); err == nil {
		t.Fatal("a delete without the lease ID removed a leased lock blob")
	}
	if err := b.Renew(ctx, "eu-1", got.ID, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatalf("Renew by the holder: %v", err)
	}
	if err := b.Unlock(ctx, "eu-1", got.ID); err != nil {
		t.Fatalf("Unlock by the holder: %v", err)
	}
	if locks, err := b.Locks(ctx); err != nil || len(locks) != 0 {
		t.Fatalf("Locks after Unlock = %v, %v; want none", locks, err)
	}
}

// TestMissingContainerIsNotNoState checks that a container that does not
// exist is an error, never "no state".
func TestMissingContainerIsNotNoState(t *testing.T) {
	env := servertest.Env(t, "REGIONCTL_TEST_AZBLOB_ENDPOINT", "REGIONCTL_TEST_AZBLOB_ACCOUNT", "REGIONCTL_TEST_AZBLOB_KEY")
	other, err := New(context.Background(), Config{Account: env[1], Container: "no-such-container", Endpoint: env[0]},
		func(k string) string {
			if k == "AZURE_STORAGE_KEY" {
				return env[2]
			}
			return ""
		})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Read(context.Background(), "eu-1")
	if err == nil || errors.Is(err, state.ErrNoState) {
		t.Fatalf("Read from a missing container: err = %v, want an error that is not ErrNoState", err)
	}
}
