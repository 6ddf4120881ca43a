package cache

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type inner struct {
	N int
	s string
}

type outer struct {
	Name  string
	Tags  []string
	M     map[string]int
	P     *inner
	I     any
	F     float64
	Fn    func()
	Ch    chan int
	hid   inner
	Bytes []byte
	Arr   [2]bool
	C     complex128
	U     uint16
}

func TestValueKey(t *testing.T) {
	base := func() outer {
		return outer{Name: "x", Tags: []string{"a", "b"}, M: map[string]int{"a": 1, "b": 2, "c": 3},
			P: &inner{N: 1, s: "p"}, I: 3, F: 1.5, hid: inner{N: 2}, Bytes: []byte("b"), Arr: [2]bool{true, false},
			C: complex(1, 2), U: 7}
	}
	k0, err := ValueKey(base())
	require.NoError(t, err)
	tests := []struct {
		name string
		edit func(*outer)
		same bool
	}{
		{"identical", func(*outer) {}, true},
		{"map built in another order", func(o *outer) { o.M = map[string]int{"c": 3, "b": 2, "a": 1} }, true},
		{"function field differs", func(o *outer) { o.Fn = func() {} }, true},
		{"channel field differs", func(o *outer) { o.Ch = make(chan int) }, true},
		{"string", func(o *outer) { o.Name = "y" }, false},
		{"slice element", func(o *outer) { o.Tags[1] = "c" }, false},
		{"nil vs empty slice", func(o *outer) { o.Tags = nil }, false},
		{"map value", func(o *outer) { o.M["a"] = 9 }, false},
		{"pointer target", func(o *outer) { o.P.N = 2 }, false},
		{"nil pointer", func(o *outer) { o.P = nil }, false},
		{"unexported field", func(o *outer) { o.hid.s = "z" }, false},
		{"interface dynamic type", func(o *outer) { o.I = int64(3) }, false},
		{"nil interface", func(o *outer) { o.I = nil }, false},
		{"float", func(o *outer) { o.F = 1.25 }, false},
		{"negative zero", func(o *outer) { o.F = 0 }, false},
		{"bytes", func(o *outer) { o.Bytes = []byte("c") }, false},
		{"array", func(o *outer) { o.Arr[1] = true }, false},
		{"complex", func(o *outer) { o.C = complex(1, 3) }, false},
		{"uint", func(o *outer) { o.U = 8 }, false},
		{"nil map", func(o *outer) { o.M = nil }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(&o)
			k, err := ValueKey(o)
			require.NoError(t, err)
			if tc.same {
				require.Equal(t, k0, k)
			} else {
				require.NotEqual(t, k0, k)
			}
		})
	}
	// Types are part of the key.
	a, err := ValueKey(int32(1))
	require.NoError(t, err)
	b, err := ValueKey(int64(1))
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	n, err := ValueKey(nil)
	require.NoError(t, err)
	require.NotEqual(t, a, n)
	_, err = ValueKey(func() {})
	require.NoError(t, err)
}

type cyclic struct{ Next *cyclic }

func TestValueKeyRejectsCycles(t *testing.T) {
	c := &cyclic{}
	c.Next = c
	_, err := ValueKey(c)
	require.ErrorContains(t, err, "cyclic")
}

// keyed gets its key from Options.InputKey.
type keyed struct {
	k   string
	err error
}

type streamed struct {
	data string
	err  error
}

func (s streamed) CacheContent() (string, func() (io.ReadCloser, error)) {
	if s.data == "nil" {
		return "", nil
	}
	return "", func() (io.ReadCloser, error) {
		if s.err != nil {
			return nil, s.err
		}
		return io.NopCloser(strings.NewReader(s.data)), nil
	}
}

type pathOnly struct{ p string }

func (p pathOnly) CacheContent() (string, func() (io.ReadCloser, error)) { return p.p, nil }

func TestInputKeyKinds(t *testing.T) {
	s, err := Open(t.TempDir(), NoSync())
	require.NoError(t, err)
	c := New(s, Options{InputKey: func(_ context.Context, _ string, v any) (string, bool, error) {
		k, ok := v.(keyed)
		return k.k, ok, k.err
	}})
	file := filepath.Join(t.TempDir(), "f.csv")
	require.NoError(t, os.WriteFile(file, []byte("same bytes"), 0o600))
	tests := []struct {
		name   string
		v      any
		prefix string
		err    string
	}{
		{"custom", keyed{k: "abc"}, "custom:abc", ""},
		{"custom error", keyed{err: errors.New("nope")}, "", "nope"},
		{"stream", streamed{data: "same bytes"}, "content:", ""},
		{"stream open error", streamed{err: errors.New("closed")}, "", "closed"},
		{"no path, no open", streamed{data: "nil"}, "", "can be read only once"},
		{"file", pathOnly{file}, "content:", ""},
		{"missing file", pathOnly{file + ".missing"}, "", "missing"},
		{"plain value", struct{ A int }{1}, "value:", ""},
		{"unhashable", &cyclic{}, "value:", ""},
	}
	keys := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, _, err := c.inputKey(context.Background(), "in", tc.v)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(k, tc.prefix), k)
			keys[tc.name] = k
		})
	}
	require.Equal(t, keys["stream"], keys["file"], "a stream and a file with the same bytes share a key")
}
