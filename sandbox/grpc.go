package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// endpointKey is the name of e's HTTP endpoint: its cloud unless it says
// otherwise.
func endpointKey(e emu.Emulator) string {
	if ep, ok := e.(emu.Endpointer); ok {
		return ep.EndpointKey()
	}
	return e.Cloud()
}

type connKey struct{}

// serveGRPC serves g's services on their own 127.0.0.1 listener as
// plain-text HTTP/2 (what grpc.WithTransportCredentials(insecure…) dials),
// with GET /_sandbox/health answered over HTTP/1.1 like every endpoint, and
// the REST form of the same services when e is an emu.GRPCRESTServer.
// Calls go through the same request log, faults and persistence as HTTP.
func (s *Sandbox) serveGRPC(ctx context.Context, e emu.Emulator, g emu.GRPCServer) error {
	addr := s.opts.Addrs[g.GRPCKey()]
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen for %s on %s: %w", g.GRPCKey(), addr, err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(s.grpcInterceptor(e, g)))
	g.RegisterGRPC(gs)
	// Emulators that serve their gRPC services as REST too answer plain
	// HTTP requests here through the same request log, faults and saves.
	var rest http.Handler
	if _, ok := e.(emu.GRPCRESTServer); ok {
		rest = s.handler(e)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         &protocols,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == HealthPath {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, "{\"cloud\":%q,\"pid\":%d}\n", e.Cloud(), os.Getpid())
				return
			}
			if r.ProtoMajor != 2 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				if rest != nil {
					rest.ServeHTTP(w, r.WithContext(emu.WithEndpoint(r.Context(), g.GRPCKey())))
					return
				}
				http.Error(w, "this sandbox endpoint speaks gRPC (HTTP/2 without TLS)", http.StatusUnsupportedMediaType)
				return
			}
			gs.ServeHTTP(w, r)
		}),
	}
	s.srvs = append(s.srvs, srv)
	s.addrs[g.GRPCKey()] = ln.Addr().String()
	if gr, ok := e.(emu.GRPCRESTServer); ok {
		s.addrs[gr.GRPCRESTKey()] = "http://" + ln.Addr().String()
	}
	go func() { _ = srv.Serve(ln) }() // returns http.ErrServerClosed on Close
	return nil
}

// grpcInterceptor counts the call, injects faults and saves the state when
// the handler changed it, before the reply is sent.
func (s *Sandbox) grpcInterceptor(e emu.Emulator, g emu.GRPCServer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		op := g.GRPCOperation(info.FullMethod)
		kind := s.fault(op, s.count(op))
		if m, ok := e.(emu.GRPCMetered); ok && kind == "" && s.budgets != nil {
			if key, ok := m.GRPCBudgetKey(op, req); ok && s.take(op, key) {
				kind = FaultThrottle
			}
		}
		switch kind {
		case FaultThrottle, FaultServerError:
			return nil, g.GRPCFault(op, kind)
		case FaultDrop:
			return nil, dropConn(ctx)
		}
		call := &emu.Call{Op: op, Fail: kind == FaultFail}
		resp, err := handler(emu.WithCall(ctx, call), req)
		if call.Changed {
			if serr := s.save(e); serr != nil {
				return nil, g.GRPCFault(op, FaultServerError)
			}
		}
		if kind == FaultDropAfter {
			return nil, dropConn(ctx)
		}
		return resp, err
	}
}

// dropConn closes the client's connection without a reply.
func dropConn(ctx context.Context) error {
	if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
		_ = c.Close() // the client sees the connection drop either way
	}
	return status.Error(codes.Unavailable, "sandbox: connection dropped")
}
