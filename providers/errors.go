package providers

import "errors"

// Error classes. A driver wraps the errors it returns in one of these (with
// fmt.Errorf("...: %w", ErrBusy) or errors.Join) so that the engine and the
// retry policy can tell what happened without parsing a cloud's messages.
// An error wrapping none of them is of class Unknown: the engine treats it
// as a failed call whose effect on the cloud is not known.
var (
	// ErrNotFound: the resource does not exist (any more). Update may return
	// it; Delete should rather succeed.
	ErrNotFound = errors.New("resource not found")
	// ErrThrottled: the cloud refused the call because of a rate limit; the
	// same call may succeed later.
	ErrThrottled = errors.New("throttled by the cloud API")
	// ErrBusy: the resource or its parent is in another operation that must
	// end first (GKE's one operation per cluster, AKS's per managed cluster,
	// EKS ResourceInUseException); the same call may succeed later.
	ErrBusy = errors.New("resource is busy with another operation")
	// ErrPermanent: repeating the same call cannot succeed (invalid request,
	// permission denied, quota exhausted) until something else changes.
	ErrPermanent = errors.New("the cloud refused the request")
	// ErrCreateFailed: the cloud itself reports that the object it was asked
	// to make failed (EKS CREATE_FAILED, a GKE cluster in ERROR, ARM
	// provisioningState Failed). Only this class makes the engine record a
	// created object as tainted (to be replaced): a client-side failure —
	// a lost reply, a timeout, a throttled poll — never does.
	ErrCreateFailed = errors.New("the cloud reports that the resource failed")
)

// ErrorClass is what kind of failure an error is (see the Err* classes).
type ErrorClass int

// The error classes, from Classify.
const (
	ClassUnknown ErrorClass = iota
	ClassNotFound
	ClassThrottled
	ClassBusy
	ClassPermanent
	ClassCreateFailed
)

var classNames = [...]string{"unknown", "not found", "throttled", "busy", "permanent", "create failed"}

func (c ErrorClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Retryable reports whether the same call may succeed if repeated later.
func (c ErrorClass) Retryable() bool { return c == ClassThrottled || c == ClassBusy }

// Classify returns the class of err: the first of the Err* sentinels it
// wraps, checked from the most specific (create failed) to the least.
func Classify(err error) ErrorClass {
	switch {
	case err == nil:
		return ClassUnknown
	case errors.Is(err, ErrCreateFailed):
		return ClassCreateFailed
	case errors.Is(err, ErrNotFound):
		return ClassNotFound
	case errors.Is(err, ErrPermanent):
		return ClassPermanent
	case errors.Is(err, ErrBusy):
		return ClassBusy
	case errors.Is(err, ErrThrottled):
		return ClassThrottled
	}
	return ClassUnknown
}
