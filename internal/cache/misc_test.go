package cache

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunAccessors(t *testing.T) {
	e := newEnv(t)
	_, r, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.Equal(t, []string{"rows", "total", "max", "report", "label"}, r.Computed())
	c := New(e.store(), e.options(Options{}))
	for name, prefix := range map[string]string{"source": "content:", "opts": "value:"} {
		k, _, err := c.inputKey(context.Background(), name, e.inputs()[name])
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(k, prefix) && len(k) > len(prefix), k)
	}
	require.Empty(t, r.Key("nope"))
	st, _ := r.State("label")
	f := st.Facet()
	require.Equal(t, "miss", f.Status)
	require.Equal(t, "default", f.Policy)
	require.True(t, f.Stored)
	require.Equal(t, st.Key, f.Key)
	require.Equal(t, float64(st.Duration.Microseconds())/1000, f.DurationMs)
	require.Equal(t, "<nil>", typeName(nil))
}

func TestEventsCarryDurations(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	for _, ev := range e.eventsWith(StatusStored) {
		require.Less(t, ev.Duration, time.Minute)
	}
}
