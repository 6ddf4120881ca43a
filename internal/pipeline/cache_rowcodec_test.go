//go:build salesdag_rowcache

package pipeline

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/cache"
)

// Every field of the row-level tables must survive the codec: a field the
// hand-written codec forgets fails here.
func TestCacheRowCodecRoundTrip(t *testing.T) {
	bad := "date,product_id,amount,customer_id\n2024-01-01,P1,10.5,C1\n2024-01-0x,P1,1,C1\n" +
		"2024-01-02,P2,,C_with_a_long_id_123\n2024-01-02,P2,-1,C2\n2024-01-03,P1,1.1234567,C3\n2024-01-03,P1,1.1234567,C3\n"
	tests := []struct {
		name string
		src  Source
		opts Options
	}{
		{"sample", SampleSource(), Options{}},
		{"generated, several chunks and workers", cacheTestSource(t, 20_000), Options{Workers: 4, chunkSize: 64 << 10}},
		{"bad rows skipped, long ids", Source{Name: "bad.csv", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(bad)), nil
		}}, Options{OnBadRows: SkipBadRows}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := cacheTestResults(t, tc.src, tc.opts)
			for _, node := range []string{NodeRaw, NodeCleaned} {
				v := res[node]
				typ := reflect.TypeOf(v)
				b, err := cache.Marshal(typ, v)
				require.NoError(t, err, node)
				got, err := cache.Unmarshal(typ, b)
				require.NoError(t, err, node)
				require.NoError(t, sameBits(reflect.ValueOf(v), reflect.ValueOf(got), node))
			}
			raw := res[NodeRaw].(*RawSales)
			b, err := cache.Marshal(reflect.TypeOf(raw), raw)
			require.NoError(t, err)
			got, err := cache.Unmarshal(reflect.TypeOf(raw), b)
			require.NoError(t, err)
			require.NoError(t, sameBits(reflect.ValueOf(mustProfile(t, raw)), reflect.ValueOf(mustProfile(t, got.(*RawSales))), "profile"))
			require.NoError(t, sameBits(reflect.ValueOf(raw.Table()), reflect.ValueOf(got.(*RawSales).Table()), "table"))
		})
	}
}

// A damaged payload must give an error or a value, never a panic (the
// cache's checksum normally stops it before the decoder).
func TestCacheRawDecoderIsRobust(t *testing.T) {
	res := cacheTestResults(t, SampleSource(), Options{})
	for _, node := range []string{NodeRaw, NodeCleaned} {
		v := res[node]
		typ := reflect.TypeOf(v)
		b, err := cache.Marshal(typ, v)
		require.NoError(t, err)
		for n := 0; n < len(b); n += 7 {
			_, err := cache.Unmarshal(typ, b[:n])
			require.Error(t, err, "%s truncated to %d bytes", node, n)
		}
		for i := 0; i < len(b); i += 3 {
			c := bytes.Clone(b)
			c[i] ^= 0xA5
			got, err := cache.Unmarshal(typ, c)
			if err == nil {
				// Whatever decoded must be usable without panicking.
				if r, ok := got.(*RawSales); ok {
					_ = r.Table()
				}
			}
		}
	}
	_, err := cache.Marshal(reflect.TypeFor[*RawSales](), (*RawSales)(nil))
	require.Error(t, err)
	_, err = cache.Marshal(reflect.TypeFor[*Sales](), (*Sales)(nil))
	require.Error(t, err)
}
