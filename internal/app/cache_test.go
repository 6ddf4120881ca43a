package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/cache"
	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/pipeline"
)

func cacheTestSource(t testing.TB, rows int) pipeline.Source {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, pipeline.Generate(&b, rows, 7))
	data := b.String()
	return pipeline.Source{Name: "generated.csv", Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
}

func cacheTestResults(t testing.TB, src pipeline.Source, opts pipeline.Options) dag.Results {
	t.Helper()
	g := dag.New()
	pipeline.Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	p, err := d.Plan(append([]string{pipeline.NodeRaw, pipeline.NodeCleaned}, pipeline.DefaultOutputs...)...)
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, map[string]any{pipeline.InputSource: src, pipeline.InputOptions: opts})
	require.NoError(t, err)
	return res
}

// Every result the sales pipeline caches has a codec, and so do tables;
// nothing else does.
func TestCacheCodecs(t *testing.T) {
	o, err := CacheOptions()
	require.NoError(t, err)
	g := dag.New()
	pipeline.Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	want := []string{"*frame.Frame"}
	var got []string
	for _, n := range pipeline.DefaultOutputs {
		node, _ := d.Node(n)
		want = append(want, node.Out.String())
	}
	for _, c := range o.Codecs {
		got = append(got, c.Type.String())
	}
	require.ElementsMatch(t, want, got)
}

// Every cached result must come back from its codec with the same bits.
func TestCacheCodecRoundTrip(t *testing.T) {
	o, err := CacheOptions()
	require.NoError(t, err)
	codecs := map[reflect.Type]cache.Codec{}
	for _, c := range o.Codecs {
		codecs[c.Type] = c
	}
	bad := "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-01-0x,P1,1,C1\n" +
		"2024-01-02,P2,,C_with_a_long_id_123\n2024-01-02,P2,-1,C2\n2024-01-03,P1,1.1234567,C3\n2024-01-03,P1,1.1234567,C3\n"
	tests := []struct {
		name string
		src  pipeline.Source
		opts pipeline.Options
	}{
		{"sample", pipeline.SampleSource(), pipeline.Options{}},
		{"generated, several workers", cacheTestSource(t, 20_000), pipeline.Options{Workers: 4}},
		{"bad rows skipped, float amounts, long ids", pipeline.Source{Name: "bad.csv", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(bad)), nil
		}}, pipeline.Options{OnBadRows: pipeline.SkipBadRows}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := cacheTestResults(t, tc.src, tc.opts)
			for _, node := range pipeline.DefaultOutputs {
				v := res[node]
				c, ok := codecs[reflect.TypeOf(v)]
				require.True(t, ok, node)
				b, err := c.Encode(v)
				require.NoError(t, err, node)
				got, err := c.Decode(b)
				require.NoError(t, err, node)
				require.NoError(t, sameBits(reflect.ValueOf(v), reflect.ValueOf(got), node))
				if tab, ok := v.(interface{ Len() int }); ok {
					require.Equal(t, tab.Len(), got.(interface{ Len() int }).Len())
				}
			}
		})
	}
}

func TestCacheKeys(t *testing.T) {
	o, err := CacheOptions()
	require.NoError(t, err)
	key := func(v any) string {
		k, ok, err := o.InputKey(context.Background(), pipeline.InputOptions, v)
		require.NoError(t, err)
		require.True(t, ok)
		return k
	}
	base := key(pipeline.Options{})
	require.Equal(t, base, key(pipeline.Options{Workers: 7, Progress: func(int64, int64) {}}),
		"workers, chunk size and progress do not change results")
	require.NotEqual(t, base, key(pipeline.Options{OnBadRows: pipeline.SkipBadRows}))
	_, ok, err := o.InputKey(context.Background(), pipeline.InputSource, pipeline.SampleSource())
	require.NoError(t, err)
	require.False(t, ok, "the source is keyed by its content")

	src := pipeline.SampleSource()
	path, open := src.CacheContent()
	require.Empty(t, path)
	require.NotNil(t, open)

	require.Equal(t, cache.PolicyDisable, o.Policy[pipeline.NodeRaw])
	require.Equal(t, cache.PolicyDisable, o.Policy[pipeline.NodeCleaned])
}

// sameBits is reflect.DeepEqual with floats compared by their bits (NaN
// marks nulls here) and nil and empty slices told apart; it names the
// first difference.
func sameBits(a, b reflect.Value, path string) error {
	if a.IsValid() != b.IsValid() {
		return fmt.Errorf("%s: one side is missing", path)
	}
	if !a.IsValid() {
		return nil
	}
	if a.Type() != b.Type() {
		return fmt.Errorf("%s: %s vs %s", path, a.Type(), b.Type())
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Errorf("%s: %v vs %v", path, a.Float(), b.Float())
		}
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil vs non-nil", path)
		}
		if !a.IsNil() {
			return sameBits(a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil vs empty slice", path)
		}
		fallthrough
	case reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: length %d vs %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if err := sameBits(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if err := sameBits(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); err != nil {
				return err
			}
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Errorf("%s: map sizes differ", path)
		}
		for _, k := range a.MapKeys() {
			if err := sameBits(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k)); err != nil {
				return err
			}
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return fmt.Errorf("%s: %v vs %v", path, a.Bool(), b.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Errorf("%s: %d vs %d", path, a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if a.Uint() != b.Uint() {
			return fmt.Errorf("%s: %d vs %d", path, a.Uint(), b.Uint())
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Errorf("%s: %q vs %q", path, a.String(), b.String())
		}
	default:
		return fmt.Errorf("%s: cannot compare kind %s", path, a.Kind())
	}
	return nil
}
