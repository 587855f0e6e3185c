package plugin

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/regionctl/regionctl/proto/regionctl/driver/v1"
	"github.com/regionctl/regionctl/providers"
)

// A driver's error crosses the boundary as its message and class
// (providers.Classify), so that on the host it still wraps the class's
// sentinel (providers.ErrBusy, ErrCreateFailed, ...) and, for a cancelled
// call, the context's error: the engine's retry, taint and cancellation
// rules see what they would see in process.

func encodeError(err error) *pb.Error {
	if err == nil {
		return nil
	}
	m := &pb.Error{Message: err.Error()}
	switch {
	case errors.Is(err, context.Canceled):
		m.Class = pb.Error_CANCELED
	case errors.Is(err, context.DeadlineExceeded):
		m.Class = pb.Error_DEADLINE_EXCEEDED
	default:
		m.Class = classes[providers.Classify(err)]
	}
	m.WrongAccount = errors.Is(err, providers.ErrWrongAccount)
	return m
}

var classes = map[providers.ErrorClass]pb.Error_Class{
	providers.ClassUnknown:      pb.Error_UNKNOWN,
	providers.ClassNotFound:     pb.Error_NOT_FOUND,
	providers.ClassThrottled:    pb.Error_THROTTLED,
	providers.ClassBusy:         pb.Error_BUSY,
	providers.ClassPermanent:    pb.Error_PERMANENT,
	providers.ClassCreateFailed: pb.Error_CREATE_FAILED,
}

var sentinels = map[pb.Error_Class]error{
	pb.Error_NOT_FOUND:         providers.ErrNotFound,
	pb.Error_THROTTLED:         providers.ErrThrottled,
	pb.Error_BUSY:              providers.ErrBusy,
	pb.Error_PERMANENT:         providers.ErrPermanent,
	pb.Error_CREATE_FAILED:     providers.ErrCreateFailed,
	pb.Error_CANCELED:          context.Canceled,
	pb.Error_DEADLINE_EXCEEDED: context.DeadlineExceeded,
}

// decodeError rebuilds a driver's error on the host: the plugin's message,
// wrapping the sentinel of its class (none for an unknown class) and
// providers.ErrWrongAccount when the plugin's error wrapped it.
func decodeError(m *pb.Error) error {
	if m == nil {
		return nil
	}
	e := &remoteError{msg: m.Message}
	if c := sentinels[m.Class]; c != nil {
		e.wraps = append(e.wraps, c)
	}
	if m.WrongAccount {
		e.wraps = append(e.wraps, providers.ErrWrongAccount)
	}
	return e
}

// remoteError is an error a plugin's driver returned.
type remoteError struct {
	msg   string
	wraps []error // the sentinels it stands for; none for the unknown class
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.wraps }

// callError turns the failure of an RPC itself (not a driver error) into
// the error a driver call returns: the caller's own cancellation as
// ctx.Err(), a plugin that went away as a plain error saying so (its class
// is unknown: the operation may or may not have happened, so the engine
// keeps a create pending and the next run finds it).
func (h *Driver) callError(ctx context.Context, proc *process, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %s: %w", h.name, op, ctxErr)
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Canceled:
		return fmt.Errorf("%s: %s: %w", h.name, op, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %s: %w", h.name, op, context.DeadlineExceeded)
	case codes.Unimplemented:
		return fmt.Errorf("%s: %s: the plugin %s does not implement it (%s); it may speak an older protocol: %w",
			h.name, op, h.path, st.Message(), providers.ErrPermanent)
	case codes.Unavailable:
		h.forget(proc)
		return fmt.Errorf("%s: %s: the plugin %s stopped answering (it crashed or was killed; its outcome is unknown and the next run reads or finds the resource): %s",
			h.name, op, h.path, st.Message())
	}
	return fmt.Errorf("%s: %s: plugin %s: %w", h.name, op, h.path, err)
}
