// Package azblob is regionctl's Azure Blob Storage state backend.
//
// Each region is one block blob, <prefix>/<region>.json, holding the same
// document the local backend writes. Writes compare-and-swap with ETag
// conditions: If-Match on the ETag that was read, If-None-Match: * for the
// first write.
//
// A region's lock is the blob <prefix>/<region>.lock, which exists while the
// region is locked. Lock creates it with If-None-Match: * (of two runs
// racing, exactly one creates it) holding the lock record (JSON LockInfo, so
// Locks shows holders across regions) and then takes a blob lease on it of
// LeaseDuration, with a lease ID derived from the lock ID. Renew renews the
// blob lease and rewrites the record's deadline under it; Unlock deletes the
// blob under its lease, which releases the lease. Only the holder can change
// or delete the record while the lease runs: Azure refuses writes without
// the lease ID.
//
// Staleness is the record's deadline (LockInfo.Expires, what Locks reports
// and `state unlock --stale` checks), not the blob lease: a blob lease is at
// most 60 seconds, so it may lapse between heartbeats of a longer lock lease
// (the holder's next renewal takes it again, as Azure allows while nobody
// else has leased the blob). UnlockStale deletes the blob conditioned on the
// ETag of the record whose deadline it checked and, while the blob lease
// runs, under that lease's ID, so a holder renewing at that moment keeps its
// lock.
//
// Credentials: a connection string in AZURE_STORAGE_CONNECTION_STRING, or an
// account key in AZURE_STORAGE_KEY (shared key), or else the Azure SDK's
// default chain (azidentity.NewDefaultAzureCredential: environment, workload
// identity, managed identity, Azure CLI), as the Azure driver's.
package azblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/internal/objstore"
)

// LeaseDuration is the blob lease taken on a lock blob, in seconds (Azure
// allows 15 to 60). The lock's heartbeat (every third of the lock lease, 40
// seconds by default) renews it.
const LeaseDuration = 60

// maxRetries bounds loops that retry when the lock blob changed between a
// read and a conditional operation that depends on it.
const maxRetries = 10

// Config says where the backend keeps its blobs.
type Config struct {
	// Account is the storage account name (required unless a connection
	// string is used).
	Account string
	// Container is the blob container (required).
	Container string
	// Prefix is the "folder" of the blobs; "" keeps them at the top.
	Prefix string
	// Endpoint is the blob service URL
	// (http://127.0.0.1:10000/devstoreaccount1 for Azurite); "" means
	// https://<account>.blob.core.windows.net.
	Endpoint string
}

// Backend is the Azure Blob Storage state backend.
type Backend struct {
	*objstore.Backend
	store *store
}

var (
	_ state.Backend       = (*Backend)(nil)
	_ state.StaleUnlocker = (*Backend)(nil)
)

// New returns a backend on cfg's container. getenv reads the environment
// (nil means os.Getenv): AZURE_STORAGE_CONNECTION_STRING, then
// AZURE_STORAGE_KEY, then the default Azure credential chain.
func New(ctx context.Context, cfg Config, getenv func(string) string) (*Backend, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if cfg.Container == "" {
		return nil, errors.New("azblob backend: container is required")
	}
	var client *container.Client
	var err error
	if cs := getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		client, err = container.NewClientFromConnectionString(cs, cfg.Container, nil)
	} else {
		endpoint := cfg.Endpoint
		if endpoint == "" {
			if cfg.Account == "" {
				return nil, errors.New("azblob backend: account is required (or endpoint, or AZURE_STORAGE_CONNECTION_STRING)")
			}
			endpoint = "https://" + cfg.Account + ".blob.core.windows.net"
		}
		url := strings.TrimSuffix(endpoint, "/") + "/" + cfg.Container
		if key := getenv("AZURE_STORAGE_KEY"); key != "" {
			if cfg.Account == "" {
				return nil, errors.New("azblob backend: account is required with AZURE_STORAGE_KEY")
			}
			cred, cerr := container.NewSharedKeyCredential(cfg.Account, key)
			if cerr != nil {
				return nil, fmt.Errorf("azblob backend: AZURE_STORAGE_KEY: %w", cerr)
			}
			client, err = container.NewClientWithSharedKeyCredential(url, cred, nil)
		} else {
			cred, cerr := azidentity.NewDefaultAzureCredential(nil)
			if cerr != nil {
				return nil, fmt.Errorf("azblob backend: Azure credentials: %w", cerr)
			}
			client, err = container.NewClient(url, cred, nil)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("azblob backend: create client: %w", err)
	}
	return NewWithClient(client, cfg.Prefix), nil
}

// NewWithClient returns a backend on client's container under prefix.
func NewWithClient(client *container.Client, prefix string) *Backend {
	s := &store{client: client}
	return &Backend{Backend: objstore.New(s, prefix), store: s}
}

// Client returns the backend's container client.
func (b *Backend) Client() *container.Client { return b.store.client }

// store implements objstore.Store on Azure blobs; versions are ETags.
type store struct {
	client *container.Client
}

func (s *store) URL(key string) string { return s.client.URL() + "/" + key }

func (s *store) Get(ctx context.Context, key string) ([]byte, objstore.Version, error) {
	data, etag, _, err := s.download(ctx, key)
	return data, objstore.Version(etag), err
}

// download returns the blob's bytes, ETag and whether a blob lease is held
// on it.
func (s *store) download(ctx context.Context, key string) ([]byte, azcore.ETag, bool, error) {
	resp, err := s.client.NewBlobClient(key).DownloadStream(ctx, nil)
	if err != nil {
		return nil, "", false, classify(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", false, fmt.Errorf("read %s: %w", s.URL(key), err)
	}
	leased := resp.LeaseState != nil && string(*resp.LeaseState) == "leased"
	return data, *resp.ETag, leased, nil
}

func (s *store) Put(ctx context.Context, key string, data []byte, ifVersion objstore.Version) error {
	mac := &blob.ModifiedAccessConditions{}
	if ifVersion == "" {
		mac.IfNoneMatch = to.Ptr(azcore.ETagAny)
	} else {
		mac.IfMatch = to.Ptr(azcore.ETag(ifVersion))
	}
	return s.upload(ctx, key, data, &blob.AccessConditions{ModifiedAccessConditions: mac})
}

func (s *store) upload(ctx context.Context, key string, data []byte, ac *blob.AccessConditions) error {
	_, err := s.client.NewBlockBlobClient(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: ac,
	})
	return classify(err)
}

func (s *store) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	p := s.client.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(prefix)})
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name != nil {
				names = append(names, (*item.Name)[len(prefix):])
			}
		}
	}
	return names, nil
}

// Previous: blob versions are not looked up; a corrupt document's message
// says no backup is known.
func (s *store) Previous(context.Context, string) string { return "" }

// classify maps Azure's answers to the objstore errors: BlobNotFound (not
// ContainerNotFound) to ErrNotFound, failed conditions to ErrPrecondition.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	case bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists):
		return fmt.Errorf("%w: %w", objstore.ErrPrecondition, err)
	}
	return err
}

// leaseErr reports whether err is Azure refusing an operation because of
// the blob lease: held under another ID, absent, lapsed or broken.
func leaseErr(err error) bool {
	return bloberror.HasCode(err,
		bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseIDMismatchWithBlobOperation,
		bloberror.LeaseNotPresentWithLeaseOperation, bloberror.LeaseNotPresentWithBlobOperation,
		bloberror.LeaseIsBrokenAndCannotBeRenewed, bloberror.LeaseLost, bloberror.LeaseIDMissing,
		bloberror.LeaseAlreadyPresent)
}

// LeaseID returns the blob lease ID of the lock with the given ID: a UUID
// derived from it, so any client that knows the lock ID (the holder, a
// second process of it, `state unlock --stale`) can act on the lease.
func LeaseID(lockID string) string {
	return uuid.NewSHA1(leaseNamespace, []byte(lockID)).String()
}

var leaseNamespace = uuid.MustParse("5b1f1d1e-7f0a-4c59-9a55-6e0f1d2c3b4a")

func (s *store) leaseClient(key, lockID string) (*lease.BlobClient, error) {
	bc := s.client.NewBlockBlobClient(key)
	return lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr(LeaseID(lockID))})
}

// readLock returns region's lock record, its ETag and whether its blob lease
// is held; a nil record when the region is not locked.
func (b *Backend) readLock(ctx context.Context, region string) (*state.LockInfo, azcore.ETag, bool, error) {
	key := b.LockKey(region)
	data, etag, leased, err := b.store.download(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("read lock of region %s from %s: %w", region, b.store.URL(key), err)
	}
	h, err := objstore.DecodeLock(region, b.store.URL(key), data)
	return h, etag, leased, err
}

// Lock creates region's lock blob with If-None-Match: * and takes its blob
// lease. Of two runs racing, exactly one creates the blob; the other reads
// the winner's record for its *state.LockError.
func (b *Backend) Lock(ctx context.Context, region string, info state.LockInfo) (state.LockInfo, error) {
	if err := state.ValidateRegionName(region); err != nil {
		return state.LockInfo{}, fmt.Errorf("lock: %w", err)
	}
	info.Region = region
	info.ID = objstore.NewLockID(info)
	data, err := objstore.EncodeLock(info)
	if err != nil {
		return state.LockInfo{}, err
	}
	key := b.LockKey(region)
	for range maxRetries {
		err := b.store.Put(ctx, key, data, "")
		if err == nil {
			break
		}
		if !errors.Is(err, objstore.ErrPrecondition) {
			return state.LockInfo{}, fmt.Errorf("lock region %s (%s): %w", region, b.store.URL(key), err)
		}
		h, _, _, err := b.readLock(ctx, region)
		if err != nil {
			return state.LockInfo{}, err
		}
		if h != nil {
			return state.LockInfo{}, &state.LockError{Region: region, Holder: h}
		}
		// Unlocked between our write and our read: try again.
	}
	lc, err := b.store.leaseClient(key, info.ID)
	if err == nil {
		_, err = lc.AcquireLease(ctx, LeaseDuration, nil)
	}
	if err != nil {
		// Leave no lock behind that nobody holds.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, derr := b.store.client.NewBlobClient(key).Delete(dctx, nil)
		if derr != nil {
			return state.LockInfo{}, fmt.Errorf("lock region %s: take the blob lease on %s: %w (and removing the lock blob failed: %v; remove it with `regionctl state unlock %s`)",
				region, b.store.URL(key), err, derr, info.ID)
		}
		return state.LockInfo{}, fmt.Errorf("lock region %s: take the blob lease on %s: %w", region, b.store.URL(key), err)
	}
	return info, nil
}

// Renew renews the blob lease of the lock held under id and rewrites the
// record's deadline under it.
func (b *Backend) Renew(ctx context.Context, region, id string, expires time.Time) error {
	return b.modifyLock(ctx, region, id, "renew", func(h *state.LockInfo, etag azcore.ETag, lc *lease.BlobClient) error {
		if _, err := lc.RenewLease(ctx, nil); err != nil {
			if leaseErr(err) {
				return &state.LockError{Region: region, Holder: h, Err: fmt.Errorf("cannot renew lock %s: its blob lease was taken or broken: %w", id, err)}
			}
			return err
		}
		h.Expires = expires
		data, err := objstore.EncodeLock(*h)
		if err != nil {
			return err
		}
		return b.store.upload(ctx, b.LockKey(region), data, &blob.AccessConditions{
			LeaseAccessConditions:    &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()},
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag},
		})
	})
}

// Unlock deletes the lock blob held under id under its blob lease (which
// releases the lease), conditioned on the record's ETag.
func (b *Backend) Unlock(ctx context.Context, region, id string) error {
	return b.modifyLock(ctx, region, id, "unlock", func(_ *state.LockInfo, etag azcore.ETag, lc *lease.BlobClient) error {
		// Renewing first takes back a blob lease that lapsed between
		// heartbeats, so the delete below can name it.
		_, err := lc.RenewLease(ctx, nil)
		switch {
		case err == nil:
			return b.deleteLock(ctx, region, etag, lc.LeaseID())
		case bloberror.HasCode(err, bloberror.LeaseNotPresentWithLeaseOperation):
			// No lease was ever taken (Lock died between creating the
			// blob and leasing it): the ETag alone guards the delete.
			return b.deleteLock(ctx, region, etag, nil)
		}
		return err
	})
}

// UnlockStale deletes region's lock blob if it is held under id and its
// record's deadline has passed at now, conditioned on that record's ETag
// (and under its blob lease while that runs), so a holder renewing at that
// moment keeps its lock.
func (b *Backend) UnlockStale(ctx context.Context, region, id string, now time.Time) error {
	return b.modifyLock(ctx, region, id, "break", func(h *state.LockInfo, etag azcore.ETag, lc *lease.BlobClient) error {
		if !h.Stale(now) {
			return &state.LockError{Region: region, Holder: h, Err: errors.New("its lease was renewed: it is not stale")}
		}
		_, _, leased, err := b.readLock(ctx, region)
		if err != nil {
			return err
		}
		var leaseID *string
		if leased {
			leaseID = lc.LeaseID()
		}
		return b.deleteLock(ctx, region, etag, leaseID)
	})
}

func (b *Backend) deleteLock(ctx context.Context, region string, etag azcore.ETag, leaseID *string) error {
	ac := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}
	if leaseID != nil {
		ac.LeaseAccessConditions = &blob.LeaseAccessConditions{LeaseID: leaseID}
	}
	_, err := b.store.client.NewBlobClient(b.LockKey(region)).Delete(ctx, &blob.DeleteOptions{AccessConditions: ac})
	return classify(err)
}

// modifyLock runs fn on region's lock record, ETag and lease client when it
// is held under id, and returns a *state.LockError otherwise. When fn finds
// the blob changed (its ETag, or its lease lapsed or retaken in between), it
// reads it again and retries.
func (b *Backend) modifyLock(ctx context.Context, region, id, op string, fn func(*state.LockInfo, azcore.ETag, *lease.BlobClient) error) error {
	if err := state.ValidateRegionName(region); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	var last error
	for range maxRetries {
		h, etag, _, err := b.readLock(ctx, region)
		if err != nil {
			return err
		}
		if h == nil {
			return &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: region is not locked", op, id)}
		}
		if h.ID != id {
			return &state.LockError{Region: region, Holder: h, Err: fmt.Errorf("cannot %s lock %s: the lock is held under another ID", op, id)}
		}
		lc, err := b.store.leaseClient(b.LockKey(region), id)
		if err != nil {
			return fmt.Errorf("%s lock of region %s: %w", op, region, err)
		}
		err = fn(h, etag, lc)
		var lerr *state.LockError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &lerr):
			return err
		case errors.Is(err, objstore.ErrPrecondition), errors.Is(err, objstore.ErrNotFound), leaseErr(err):
			last = err
			continue // changed since we read it: look again
		}
		return fmt.Errorf("%s lock of region %s (%s): %w", op, region, b.store.URL(b.LockKey(region)), err)
	}
	return &state.LockError{Region: region, Err: fmt.Errorf("cannot %s lock %s: the lock blob kept changing under %d attempts: %w", op, id, maxRetries, last)}
}

// Locks lists the lock records, sorted by region.
func (b *Backend) Locks(ctx context.Context) ([]state.LockInfo, error) {
	regions, err := b.ListRegions(ctx, objstore.LockSuffix)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	out := []state.LockInfo{}
	for _, region := range regions {
		h, _, _, err := b.readLock(ctx, region)
		if err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		if h != nil { // unlocked since the listing
			out = append(out, *h)
		}
	}
	return out, nil
}
