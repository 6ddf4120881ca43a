package cache

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunAccessors(t *testing.T) {
	e := newEnv(t)
	_, r, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	require.Equal(t, []string{"rows", "total", "max", "report", "label"}, r.Computed())
	require.True(t, len(r.InputKey("source")) > len("content:"))
	require.Contains(t, r.InputKey("source"), "content:")
	require.Contains(t, r.InputKey("opts"), "value:")
	require.Empty(t, r.InputKey("nope"))
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

func TestWireExtras(t *testing.T) {
	e := NewEncoder(0)
	e.Uint64s([]uint64{1, 1 << 63})
	d := NewDecoder(e.Bytes())
	require.Equal(t, []uint64{1, 1 << 63}, d.Uint64s())
	require.NoError(t, d.Finish())
	d = NewDecoder(nil)
	require.Nil(t, d.Uint64s())
	d.Fail(errors.New("first"))
	d.Fail(errors.New("second"))
	require.EqualError(t, d.Err(), "payload ends early")
	d = NewDecoder([]byte{})
	d.Fail(errors.New("bad payload"))
	require.EqualError(t, d.Finish(), "bad payload")
	_, err := Marshal(reflect.TypeFor[chan int](), nil)
	require.ErrorContains(t, err, "no codec")
	_, err = Unmarshal(reflect.TypeFor[chan int](), nil)
	require.ErrorContains(t, err, "no codec")
}

func TestEventsCarryDurations(t *testing.T) {
	e := newEnv(t)
	_, _, _, err := e.run(Options{}, "label")
	require.NoError(t, err)
	for _, ev := range e.eventsWith(StatusStored) {
		require.Less(t, ev.Duration, time.Minute)
	}
}
