package backoff

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDelayGrowsExponentiallyAndCaps(t *testing.T) {
	t.Parallel()
	c := Config{Base: time.Second, Multiplier: 2, Max: 10 * time.Second}
	require.Equal(t, time.Second, c.Delay(1, nil))
	require.Equal(t, 2*time.Second, c.Delay(2, nil))
	require.Equal(t, 8*time.Second, c.Delay(4, nil))
	require.Equal(t, 10*time.Second, c.Delay(5, nil))
	require.Equal(t, 10*time.Second, c.Delay(500, nil))
}

func TestDelayJitterStaysWithinBounds(t *testing.T) {
	t.Parallel()
	c := Config{Base: 10 * time.Second, Multiplier: 2, Max: time.Hour, JitterFraction: 0.1}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := c.Delay(1, nil)
		require.GreaterOrEqual(t, d, 9*time.Second)
		require.LessOrEqual(t, d, 11*time.Second)
		seen[d] = true
	}
	require.Greater(t, len(seen), 1, "jitter should vary the delay")
}

func TestRequestedDelayWinsButIsCapped(t *testing.T) {
	t.Parallel()
	c := Default()
	req := 2.5
	require.Equal(t, 2500*time.Millisecond, c.Delay(3, &req))
	huge := 1e9
	require.Equal(t, c.Max, c.Delay(1, &huge))
	neg := -4.0
	require.Equal(t, time.Duration(0), c.Delay(1, &neg))
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	require.NoError(t, Default().Validate())
	require.ErrorContains(t, Config{Base: -1, Multiplier: 2, Max: time.Second}.Validate(), "base must be >= 0")
	require.ErrorContains(t, Config{Multiplier: 0.5, Max: time.Second}.Validate(), "multiplier must be >= 1")
	require.ErrorContains(t, Config{Base: time.Second, Multiplier: 2}.Validate(), "max")
	require.ErrorContains(t, Config{Multiplier: 2, Max: time.Second, JitterFraction: 2}.Validate(), "jitter_fraction")
}
