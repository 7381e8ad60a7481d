// Package backoff computes how long a failed step waits before its next
// attempt.
package backoff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Config sets the exponential backoff (the C ABI takes it in milliseconds,
// see ffi's init config) used when a handler does not ask for a
// wait of its own. The n-th retry waits Base * Multiplier^(n-1), capped at Max,
// then moved by up to ±JitterFraction of itself.
type Config struct {
	Base           time.Duration
	Multiplier     float64
	Max            time.Duration
	JitterFraction float64
}

// Default is 1s, 2s, 4s, ... capped at 5 minutes, with ±10% jitter: the
// original Tasker's defaults.
func Default() Config {
	return Config{Base: time.Second, Multiplier: 2, Max: 5 * time.Minute, JitterFraction: 0.1}
}

// Validate names the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.Base < 0:
		return fmt.Errorf("backoff base must be >= 0, got %s", c.Base)
	case c.Multiplier < 1:
		return fmt.Errorf("backoff multiplier must be >= 1, got %g", c.Multiplier)
	case c.Max < c.Base:
		return fmt.Errorf("backoff max (%s) must be >= base (%s)", c.Max, c.Base)
	case c.JitterFraction < 0 || c.JitterFraction > 1:
		return fmt.Errorf("backoff jitter_fraction must be within [0, 1], got %g", c.JitterFraction)
	}
	return nil
}

// Delay returns the wait before the next attempt of a step that has made
// attempts attempts so far. requested, when non-nil, is the handler's own
// request in seconds; it wins over the exponential schedule but never exceeds
// Max.
func (c Config) Delay(attempts int, requested *float64) time.Duration {
	if requested != nil {
		d := time.Duration(*requested * float64(time.Second))
		return min(max(d, 0), c.Max)
	}
	if attempts < 1 {
		attempts = 1
	}
	d := float64(c.Base) * math.Pow(c.Multiplier, float64(attempts-1))
	if d > float64(c.Max) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(c.Max)
	}
	if c.JitterFraction > 0 {
		d += d * c.JitterFraction * (2*rand.Float64() - 1)
	}
	return min(max(time.Duration(d), 0), c.Max)
}
