// Package s3 is regionctl's Amazon S3 state backend (and that of
// S3-compatible servers that implement conditional writes, such as MinIO).
//
// Each region is one object, <prefix>/<region>.json, holding the same
// document the local backend writes. Writes compare-and-swap with S3
// conditional writes: If-Match on the ETag that was read, If-None-Match: *
// for the first write. A region's lock is its own object,
// <prefix>/<region>.lock, created with If-None-Match: * (no DynamoDB table
// is needed). Renewals rewrite it with If-Match on its ETag; unlock and
// stale-lock breaking overwrite it, also with If-Match, with an empty object
// that means "not locked" (a conditional delete is not needed, so servers
// without one work), and the next Lock takes the empty object over with
// If-Match on its ETag. So a lock broken and retaken by another run is never
// clobbered.
//
// The backend works with bucket versioning (recommended: a corrupt document
// is then reported with the version to restore) and with SSE-KMS
// (Config.KMSKeyID). Credentials come from the AWS SDK's default chain
// (environment, shared config and SSO profiles, web identity/OIDC, ECS and
// EC2 roles), as the AWS driver's do.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/internal/objstore"
)

// Config says where the backend keeps its objects.
type Config struct {
	// Bucket is the bucket name (required).
	Bucket string
	// Prefix is the "folder" of the objects; "" keeps them at the top.
	Prefix string
	// Region is the bucket's AWS region; "" takes it from the default
	// chain (AWS_REGION, the profile).
	Region string
	// Endpoint is the URL of an S3-compatible server
	// (http://127.0.0.1:9000); "" means AWS (or AWS_ENDPOINT_URL_S3).
	Endpoint string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than the host name; most S3-compatible servers need it.
	PathStyle bool
	// KMSKeyID, when set, encrypts every object written with SSE-KMS
	// under this key (ID, ARN or alias).
	KMSKeyID string
}

// Backend is the S3 state backend.
type Backend struct {
	*objstore.Backend
	store *store
}

var (
	_ state.Backend       = (*Backend)(nil)
	_ state.StaleUnlocker = (*Backend)(nil)
)

// New returns a backend on cfg's bucket with a client built from the AWS
// SDK's default configuration and credential chain.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3 backend: bucket is required")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 backend: load AWS configuration: %w", err)
	}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	return NewWithClient(client, cfg), nil
}

// NewWithClient returns a backend using client; cfg's Region, Endpoint and
// PathStyle are ignored (they are the client's business).
func NewWithClient(client *awss3.Client, cfg Config) *Backend {
	s := &store{client: client, bucket: cfg.Bucket, kmsKeyID: cfg.KMSKeyID}
	return &Backend{Backend: objstore.New(s, cfg.Prefix), store: s}
}

// Bucket returns the backend's bucket.
func (b *Backend) Bucket() string { return b.store.bucket }

// Client returns the backend's S3 client.
func (b *Backend) Client() *awss3.Client { return b.store.client }

// Config returns the bucket, prefix and KMS key of the backend, for opening
// a second backend on the same store.
func (b *Backend) Config() Config {
	return Config{Bucket: b.store.bucket, Prefix: b.Prefix(), KMSKeyID: b.store.kmsKeyID}
}

// store implements objstore.Store on S3; versions are ETags.
type store struct {
	client   *awss3.Client
	bucket   string
	kmsKeyID string
}

func (s *store) URL(key string) string { return "s3://" + s.bucket + "/" + key }

func (s *store) Get(ctx context.Context, key string) ([]byte, objstore.Version, error) {
	out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, "", classify(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", s.URL(key), err)
	}
	return data, objstore.Version(aws.ToString(out.ETag)), nil
}

func (s *store) Put(ctx context.Context, key string, data []byte, ifVersion objstore.Version) error {
	in := &awss3.PutObjectInput{
		Bucket:      &s.bucket,
		Key:         &key,
		Body:        bytes.NewReader(data),
		ContentType: aws.String("application/json"),
	}
	if ifVersion == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(string(ifVersion))
	}
	if s.kmsKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.kmsKeyID)
	}
	_, err := s.client.PutObject(ctx, in)
	return classify(err)
}

func (s *store) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	p := awss3.NewListObjectsV2Paginator(s.client, &awss3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, o := range page.Contents {
			names = append(names, aws.ToString(o.Key)[len(prefix):])
		}
	}
	return names, nil
}

// Previous names the newest non-current version of key when the bucket
// keeps versions.
func (s *store) Previous(ctx context.Context, key string) string {
	out, err := s.client.ListObjectVersions(ctx, &awss3.ListObjectVersionsInput{
		Bucket: &s.bucket, Prefix: aws.String(key), MaxKeys: aws.Int32(10),
	})
	if err != nil {
		return ""
	}
	for _, v := range out.Versions { // newest first
		if aws.ToString(v.Key) == key && !aws.ToBool(v.IsLatest) && aws.ToString(v.VersionId) != "null" {
			return fmt.Sprintf("%s (version %s; `aws s3api get-object --bucket %s --key %s --version-id %s FILE`)",
				s.URL(key), aws.ToString(v.VersionId), s.bucket, key, aws.ToString(v.VersionId))
		}
	}
	return ""
}

// classify maps S3's answers to the objstore errors: NoSuchKey (not
// NoSuchBucket) to ErrNotFound;
// 412 PreconditionFailed, and 409 ConditionalRequestConflict (another
// conditional write to the key in flight), to ErrPrecondition.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey":
			return fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%w: %w", objstore.ErrPrecondition, err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		// A bare 404 is not "no such key": a missing bucket must never
		// read as "no state".
		if re.HTTPStatusCode() == http.StatusPreconditionFailed {
			return fmt.Errorf("%w: %w", objstore.ErrPrecondition, err)
		}
	}
	return err
}
