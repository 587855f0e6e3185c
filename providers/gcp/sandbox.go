package gcp

import (
	"context"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// sandboxClientOptions points the Compute REST clients and the GKE gRPC
// client at the sandbox, authenticated as on Google Cloud: every call
// carries an OAuth2 access token from Application Default Credentials,
// which in sandbox mode are the service account key file the sandbox
// publishes (exchanged at its token endpoint on first use). The sandbox
// refuses calls without one, as Google does.
func (d *Driver) sandboxClientOptions() (copts, gopts []option.ClientOption, err error) {
	ts := adcTokens{d} // accessToken caches the token until it nearly expires
	conn, err := grpc.NewClient(d.containerEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(plainTextBearer{ts}), grpc.WithChainUnaryInterceptor(d.paceGRPC))
	if err != nil {
		return nil, nil, fmt.Errorf("gcp: connect to the sandbox's GKE endpoint %s: %w", d.containerEndpoint, err)
	}
	// The Compute clients' transport: the access token over the budget's
	// pacing (option.WithHTTPClient replaces the clients' own auth).
	paced := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, ts), Base: d.pacedTransport(http.DefaultTransport)}}
	copts = []option.ClientOption{option.WithEndpoint(d.computeEndpoint), option.WithHTTPClient(paced)}
	gopts = []option.ClientOption{option.WithGRPCConn(conn)} // the GKE client closes it
	return copts, gopts, nil
}

// adcTokens is the driver's access token source (accessToken) as an
// oauth2.TokenSource; the token source outlives any one call's ctx.
type adcTokens struct{ d *Driver }

func (t adcTokens) Token() (*oauth2.Token, error) { return t.d.accessToken(context.Background()) }

// plainTextBearer sends the access token with every gRPC call over the
// sandbox's plain-text connection, as it travels over TLS to Google
// (grpc's oauth credentials refuse a connection without TLS).
type plainTextBearer struct{ ts oauth2.TokenSource }

func (b plainTextBearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	tok, err := b.ts.Token()
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": tok.Type() + " " + tok.AccessToken}, nil
}

func (plainTextBearer) RequireTransportSecurity() bool { return false }
