package cache

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/cache/codeversion"
)

const toySrc = "package toy\n\nfunc Enc(x int) int { return x + 1 }\n\nfunc Dec(x int) int { return x - 1 }\n"

func toyCache(t *testing.T, src string) *Cache {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	return New(s, Options{Sources: map[string]fs.FS{"example.com/toy": fstest.MapFS{"toy.go": {Data: []byte(src)}}}})
}

func TestFuncVersionResolution(t *testing.T) {
	c := toyCache(t, toySrc)
	p, err := codeversion.Parse(fstest.MapFS{"toy.go": {Data: []byte(toySrc)}})
	require.NoError(t, err)
	tests := []struct {
		name string
		fn   string
		want string
		ok   bool
	}{
		{"exact", "example.com/toy.Enc", p.For("example.com/toy.Enc"), true},
		{"inlined into another package", "example.com/app.Build.example.com/toy.Enc.func1", p.Whole(), true},
		{"unknown package", "example.com/other.F", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, err := c.funcVersion(tc.fn)
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, v)
		})
	}
	bad := toyCache(t, "package toy\nfunc {")
	_, _, err = bad.funcVersion("example.com/toy.Enc")
	require.Error(t, err)
	_, _, err = bad.funcVersion("example.com/x.B.example.com/toy.Enc.func1")
	require.Error(t, err)
}

func TestCodecVersionFollowsCodecSource(t *testing.T) {
	cd := &codec{id: "toy/v1", funcs: []string{"example.com/toy.Enc", "example.com/toy.Dec", "", selfPath + ".jsonEncode[...]", "example.com/unknown.F"}}
	a := toyCache(t, toySrc).codecVersion(cd)
	b := toyCache(t, toySrc+"\nfunc Other() {}\n").codecVersion(cd)
	c := toyCache(t, "package toy\n\nfunc Enc(x int) int { return x + 2 }\n\nfunc Dec(x int) int { return x - 1 }\n").codecVersion(cd)
	require.Equal(t, a, b, "unrelated code does not change the codec version")
	require.NotEqual(t, a, c, "the encoder's code does")
	require.Contains(t, a, "toy/v1 cv1-")
}

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

func TestImportedRegisteredPackagesCount(t *testing.T) {
	src := "package toy\n\nimport \"example.com/lib\"\n\nfunc F() int { return lib.G() }\n"
	lib := func(body string) map[string]fs.FS {
		return map[string]fs.FS{
			"example.com/toy": fstest.MapFS{"toy.go": {Data: []byte(src)}},
			"example.com/lib": fstest.MapFS{"lib.go": {Data: []byte("package lib\n\nfunc G() int { " + body + " }\n")}},
		}
	}
	version := func(sources map[string]fs.FS) string {
		s, err := Open(t.TempDir(), NoSync())
		require.NoError(t, err)
		v, ok, err := New(s, Options{Sources: sources}).funcVersion("example.com/toy.F")
		require.NoError(t, err)
		require.True(t, ok)
		return v
	}
	require.NotEqual(t, version(lib("return 1")), version(lib("return 2")))
	broken := lib("return 1")
	broken["example.com/lib"] = fstest.MapFS{"lib.go": {Data: []byte("package lib\nfunc {")}}
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	_, _, err = New(s, Options{Sources: broken}).funcVersion("example.com/toy.F")
	require.Error(t, err)
}
