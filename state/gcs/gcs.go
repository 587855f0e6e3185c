// Package gcs is regionctl's Google Cloud Storage state backend.
//
// Each region is one object, <prefix>/<region>.json, holding the same
// document the local backend writes. Writes compare-and-swap with generation
// preconditions: ifGenerationMatch on the generation that was read, and
// ifGenerationMatch=0 (the object must not exist) for the first write. A
// region's lock is its own object, <prefix>/<region>.lock, created with
// ifGenerationMatch=0. Renewals rewrite it conditioned on its generation;
// unlock and stale-lock breaking overwrite it, also conditioned on its
// generation, with an empty object that means "not locked", which the next
// Lock takes over the same way. So a lock broken and retaken by another run
// is never clobbered, and no conditional delete is needed (fake-gcs-server,
// the emulator the tests run against, ignores ifGenerationMatch on DELETE).
//
// With object versioning on the bucket, a corrupt document is reported with
// the generation to restore. Credentials are Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud's, workload identity, the metadata
// server), as the GCP driver's; STORAGE_EMULATOR_HOST points the client at an
// emulator.
package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/internal/objstore"
)

// Config says where the backend keeps its objects.
type Config struct {
	// Bucket is the bucket name (required).
	Bucket string
	// Prefix is the "folder" of the objects; "" keeps them at the top.
	Prefix string
}

// Backend is the GCS state backend.
type Backend struct {
	*objstore.Backend
	store *store
}

var (
	_ state.Backend       = (*Backend)(nil)
	_ state.StaleUnlocker = (*Backend)(nil)
)

// New returns a backend on cfg's bucket with a client using Application
// Default Credentials (and STORAGE_EMULATOR_HOST when set). opts are passed
// to storage.NewClient.
func New(ctx context.Context, cfg Config, opts ...option.ClientOption) (*Backend, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("gcs backend: bucket is required")
	}
	client, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcs backend: create storage client: %w", err)
	}
	return NewWithClient(client, cfg), nil
}

// NewWithClient returns a backend using client.
func NewWithClient(client *storage.Client, cfg Config) *Backend {
	s := &store{client: client, bucket: cfg.Bucket}
	return &Backend{Backend: objstore.New(s, cfg.Prefix), store: s}
}

// Bucket returns the backend's bucket.
func (b *Backend) Bucket() string { return b.store.bucket }

// Client returns the backend's storage client.
func (b *Backend) Client() *storage.Client { return b.store.client }

// Config returns the bucket and prefix of the backend.
func (b *Backend) Config() Config { return Config{Bucket: b.store.bucket, Prefix: b.Prefix()} }

// store implements objstore.Store on GCS; versions are generations.
type store struct {
	client *storage.Client
	bucket string
}

func (s *store) URL(key string) string { return "gs://" + s.bucket + "/" + key }

func (s *store) obj(key string) *storage.ObjectHandle { return s.client.Bucket(s.bucket).Object(key) }

func (s *store) Get(ctx context.Context, key string) ([]byte, objstore.Version, error) {
	r, err := s.obj(key).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		// GCS answers 404 for a missing bucket too: make sure it is the
		// object that is missing, never reading a lost bucket as "no
		// state". Listing needs only the object permissions the backend
		// needs anyway.
		if err := s.bucketExists(ctx); err != nil {
			return nil, "", err
		}
	}
	if err != nil {
		return nil, "", classify(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", s.URL(key), err)
	}
	return data, objstore.Version(strconv.FormatInt(r.Attrs.Generation, 10)), nil
}

// bucketExists returns an error when the bucket cannot be listed.
func (s *store) bucketExists(ctx context.Context) error {
	it := s.client.Bucket(s.bucket).Objects(ctx, &storage.Query{Prefix: "\x00"})
	_, err := it.Next()
	if err == nil || errors.Is(err, iterator.Done) {
		return nil
	}
	return fmt.Errorf("bucket gs://%s: %w", s.bucket, err)
}

// conditions turns a version into generation preconditions.
func conditions(v objstore.Version) (storage.Conditions, error) {
	if v == "" {
		return storage.Conditions{DoesNotExist: true}, nil
	}
	gen, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || gen <= 0 {
		return storage.Conditions{}, fmt.Errorf("bad generation %q", v)
	}
	return storage.Conditions{GenerationMatch: gen}, nil
}

func (s *store) Put(ctx context.Context, key string, data []byte, ifVersion objstore.Version) error {
	cond, err := conditions(ifVersion)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the upload if we return before Close
	w := s.obj(key).If(cond).NewWriter(ctx)
	w.ChunkSize = 0 // one request: documents are small
	w.ContentType = "application/json"
	if _, err := w.Write(data); err != nil {
		return classify(err)
	}
	return classify(w.Close())
}

func (s *store) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	it := s.client.Bucket(s.bucket).Objects(ctx, &storage.Query{Prefix: prefix, Delimiter: "/"})
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names, nil
		}
		if err != nil {
			return nil, classify(err)
		}
		if attrs.Name == "" { // a "folder" (attrs.Prefix)
			continue
		}
		names = append(names, attrs.Name[len(prefix):])
	}
}

// Previous names the newest non-current generation of key when the bucket
// keeps versions.
func (s *store) Previous(ctx context.Context, key string) string {
	it := s.client.Bucket(s.bucket).Objects(ctx, &storage.Query{Prefix: key, Versions: true})
	var cur, prev int64
	for {
		attrs, err := it.Next()
		if err != nil {
			break
		}
		if attrs.Name != key {
			continue
		}
		if attrs.Deleted.IsZero() {
			cur = attrs.Generation
		} else if attrs.Generation > prev {
			prev = attrs.Generation
		}
	}
	if prev == 0 || prev == cur {
		return ""
	}
	return fmt.Sprintf("%s#%d (`gcloud storage cp %s#%d %s`)", s.URL(key), prev, s.URL(key), prev, s.URL(key))
}

// classify maps GCS's answers to the objstore errors: a missing object (not
// a missing bucket) to ErrNotFound; 412 to ErrPrecondition.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed {
		return fmt.Errorf("%w: %w", objstore.ErrPrecondition, err)
	}
	return err
}
