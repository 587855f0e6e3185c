package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/internal/servertest"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/internal/objstore"
	"github.com/regionctl/regionctl/state/statetest"
)

// newTestBackend returns a backend on MinIO (started by
// scripts/test-servers.sh) built by New, so through the SDK's default
// configuration and credential chain (the keys come from the environment),
// on a new bucket.
func newTestBackend(t *testing.T, versioned bool) *Backend {
	t.Helper()
	env := servertest.Env(t, "REGIONCTL_TEST_S3_ENDPOINT", "REGIONCTL_TEST_S3_ACCESS_KEY", "REGIONCTL_TEST_S3_SECRET_KEY")
	t.Setenv("AWS_ACCESS_KEY_ID", env[1])
	t.Setenv("AWS_SECRET_ACCESS_KEY", env[2])
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	ctx := context.Background()
	bucket := "regionctl-test-" + uuid.NewString()[:8]
	b, err := New(ctx, Config{Bucket: bucket, Prefix: "fleet", Region: "us-east-1", Endpoint: env[0], PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if versioned {
		_, err := b.Client().PutBucketVersioning(ctx, &awss3.PutBucketVersioningInput{
			Bucket:                  &bucket,
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		})
		if err != nil {
			t.Fatalf("enable versioning: %v", err)
		}
	}
	return b
}

func putRaw(t *testing.T, b *Backend, key string, data []byte) {
	t.Helper()
	_, err := b.Client().PutObject(context.Background(), &awss3.PutObjectInput{Bucket: aws.String(b.Bucket()), Key: &key, Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
}

func getRaw(t *testing.T, b *Backend, key string) []byte {
	t.Helper()
	out, err := b.Client().GetObject(context.Background(), &awss3.GetObjectInput{Bucket: aws.String(b.Bucket()), Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func harness(base *Backend) statetest.Harness {
	return statetest.Harness{
		New: func(t *testing.T) state.Backend {
			// Each subtest gets its own prefix: a fresh, empty store.
			cfg := base.Config()
			cfg.Prefix = "statetest/" + uuid.NewString()
			return NewWithClient(base.Client(), cfg)
		},
		Open: func(_ *testing.T, b state.Backend) state.Backend {
			return NewWithClient(base.Client(), b.(*Backend).Config())
		},
		Corrupt: func(t *testing.T, b state.Backend, region string) {
			putRaw(t, b.(*Backend), b.(*Backend).StateKey(region), []byte(`{"version": 1, "lineage": "x", "resou`))
		},
		Raw: func(t *testing.T, b state.Backend, region string) []byte {
			return getRaw(t, b.(*Backend), b.(*Backend).StateKey(region))
		},
	}
}

func TestConformance(t *testing.T) {
	statetest.Run(t, harness(newTestBackend(t, false)))
}

// TestConformanceVersioned runs the suite on a bucket with versioning on,
// as the docs recommend.
func TestConformanceVersioned(t *testing.T) {
	statetest.Run(t, harness(newTestBackend(t, true)))
}

// TestServerHonoursConditions checks, below the backend, that the server
// refuses PUTs whose If-None-Match / If-Match condition fails: the suite
// alone could pass on a server that ignored them when no race hit the
// window.
func TestServerHonoursConditions(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, false)
	s := b.store
	key := "conditions/" + uuid.NewString()
	if err := s.Put(ctx, key, []byte("one"), ""); err != nil {
		t.Fatalf("create: %v", err)
	}
	_, v1, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("again"), ""); !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("create over an existing object (If-None-Match: *): err = %v, want ErrPrecondition", err)
	}
	if err := s.Put(ctx, key, []byte("two"), v1); err != nil {
		t.Fatalf("write at the ETag read: %v", err)
	}
	if err := s.Put(ctx, key, []byte("stale"), v1); !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("write at a stale ETag: err = %v, want ErrPrecondition", err)
	}
	if data, _, err := s.Get(ctx, key); err != nil || string(data) != "two" {
		t.Fatalf("after refused writes: %q, %v; want \"two\"", data, err)
	}
}

// TestMissingBucketIsNotNoState checks that a bucket that does not exist is
// an error, never "no state" (which would plan to create everything again).
func TestMissingBucketIsNotNoState(t *testing.T) {
	b := newTestBackend(t, false)
	cfg := b.Config()
	cfg.Bucket = "no-such-bucket-" + uuid.NewString()[:8]
	_, err := NewWithClient(b.Client(), cfg).Read(context.Background(), "eu-1")
	if err == nil || errors.Is(err, state.ErrNoState) {
		t.Fatalf("Read from a missing bucket: err = %v, want an error that is not ErrNoState", err)
	}
}

// TestCorruptNamesPreviousVersion checks that on a versioned bucket a corrupt
// document is reported with the version to restore.
func TestCorruptNamesPreviousVersion(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, true)
	s := statetest.Sample("eu-1", "L", 1)
	if err := b.Write(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	putRaw(t, b, b.StateKey("eu-1"), []byte("{garbage"))
	_, err := b.Read(ctx, "eu-1")
	var cerr *state.CorruptError
	if !errors.As(err, &cerr) {
		t.Fatalf("Read of a corrupt document: err = %v, want *state.CorruptError", err)
	}
	if cerr.Where != "s3://"+b.Bucket()+"/fleet/eu-1.json" || !strings.Contains(cerr.Backup, "version ") {
		t.Fatalf("CorruptError Where %q Backup %q: want the object URL and a previous version", cerr.Where, cerr.Backup)
	}
}

// TestKMSKeyIsSentOnEveryWrite checks the SSE-KMS headers go out with state
// and lock writes when a key is configured. MinIO without a KMS cannot
// serve SSE-KMS, so this looks at the requests on a recording listener.
func TestKMSKeyIsSentOnEveryWrite(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			seen = append(seen, r.Header.Clone())
			mu.Unlock()
			w.Header().Set("ETag", `"e1"`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `<Error><Code>NoSuchKey</Code><Message>none</Message></Error>`)
	}))
	defer srv.Close()
	client := awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
	})
	b := NewWithClient(client, Config{Bucket: "b", KMSKeyID: "alias/regionctl"})
	ctx := context.Background()
	if err := b.Write(ctx, statetest.Sample("eu-1", "L", 1), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(ctx, "eu-1", state.LockInfo{Who: "x"}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("saw %d PUTs, want 2 (state and lock)", len(seen))
	}
	for i, h := range seen {
		if h.Get("X-Amz-Server-Side-Encryption") != "aws:kms" || h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "alias/regionctl" {
			t.Errorf("PUT %d headers lack SSE-KMS with the key: %v", i, h)
		}
		if h.Get("If-None-Match") != "*" {
			t.Errorf("PUT %d is not create-only: If-None-Match %q", i, h.Get("If-None-Match"))
		}
	}
}
