package pipeline

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
)

func cacheTestSource(t testing.TB, rows int) Source {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Generate(&b, rows, 7))
	data := b.String()
	return Source{Name: "generated.csv", Size: int64(len(data)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data)), nil
	}}
}

func cacheTestResults(t testing.TB, src Source, opts Options) dag.Results {
	t.Helper()
	g := dag.New()
	Register(g)
	d, err := g.Build()
	require.NoError(t, err)
	p, err := d.Plan(append([]string{NodeRaw, NodeCleaned}, DefaultOutputs...)...)
	require.NoError(t, err)
	res, err := d.Execute(context.Background(), p, map[string]any{InputSource: src, InputOptions: opts})
	require.NoError(t, err)
	return res
}

func TestCacheCodecsRegistered(t *testing.T) {
	require.NoError(t, cacheCodecErr)
}

// Every cached result must come back from its codec with the same bits.
func TestCacheCodecRoundTrip(t *testing.T) {
	bad := "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-01-0x,P1,1,C1\n" +
		"2024-01-02,P2,,C_with_a_long_id_123\n2024-01-02,P2,-1,C2\n2024-01-03,P1,1.1234567,C3\n2024-01-03,P1,1.1234567,C3\n"
	tests := []struct {
		name string
		src  Source
		opts Options
	}{
		{"sample", SampleSource(), Options{}},
		{"generated, several workers", cacheTestSource(t, 20_000), Options{Workers: 4}},
		{"bad rows skipped, float amounts, long ids", Source{Name: "bad.csv", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(bad)), nil
		}}, Options{OnBadRows: SkipBadRows}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := cacheTestResults(t, tc.src, tc.opts)
			for _, node := range DefaultOutputs {
				v := res[node]
				typ := reflect.TypeOf(v)
				b, err := cache.Marshal(typ, v)
				require.NoError(t, err, node)
				got, err := cache.Unmarshal(typ, b)
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
	base, err := Options{}.CacheKey(context.Background())
	require.NoError(t, err)
	same, err := Options{Workers: 7, Progress: func(int64, int64) {}}.CacheKey(context.Background())
	require.NoError(t, err)
	require.Equal(t, base, same, "workers, chunk size and progress do not change results")
	other, err := Options{OnBadRows: SkipBadRows}.CacheKey(context.Background())
	require.NoError(t, err)
	require.NotEqual(t, base, other)

	src := SampleSource()
	path, open := src.CacheContent()
	require.Empty(t, path)
	require.NotNil(t, open)

	require.Equal(t, cache.PolicyDisable, CachePolicies()[NodeRaw])
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
