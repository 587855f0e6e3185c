package providers

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      ErrorClass
		retryable bool
	}{
		{name: "nil", err: nil, want: ClassUnknown},
		{name: "plain", err: errors.New("boom"), want: ClassUnknown},
		{name: "not found", err: fmt.Errorf("EKS cluster x: %w", ErrNotFound), want: ClassNotFound},
		{name: "throttled", err: fmt.Errorf("call: %w", ErrThrottled), want: ClassThrottled, retryable: true},
		{name: "busy", err: fmt.Errorf("node pool: %w", ErrBusy), want: ClassBusy, retryable: true},
		{name: "permanent", err: fmt.Errorf("bad: %w", ErrPermanent), want: ClassPermanent},
		{name: "create failed wins", err: errors.Join(ErrThrottled, fmt.Errorf("status FAILED: %w", ErrCreateFailed)), want: ClassCreateFailed},
		{name: "permanent over throttled", err: errors.Join(ErrThrottled, ErrPermanent), want: ClassPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if got.Retryable() != tt.retryable {
				t.Errorf("%v.Retryable() = %v, want %v", got, got.Retryable(), tt.retryable)
			}
		})
	}
}
