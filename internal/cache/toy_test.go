package cache

// The toy graph of the cache tests.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/salesdag/salesdag/internal/dag"
	"github.com/salesdag/salesdag/internal/frame"
)

// toyFile is a file input, keyed by content.
type toyFile struct{ Path string }

func (f toyFile) CacheContent() (string, func() (io.ReadCloser, error)) {
	return f.Path, func() (io.ReadCloser, error) { return os.Open(f.Path) }
}

// toyOpts is keyed by ValueKey; Progress is not part of the key.
type toyOpts struct {
	Factor   int
	Progress func()
}

// toyRows is the row-level table; its codec uses its binary encoding.
type toyRows struct{ Vals []int64 }

func (r *toyRows) MarshalBinary() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(len(r.Vals)))
	for _, v := range r.Vals {
		b = binary.AppendVarint(b, v)
	}
	return b, nil
}

func (r *toyRows) UnmarshalBinary(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return errors.New("bad length")
	}
	b = b[k:]
	r.Vals = make([]int64, n)
	for i := range r.Vals {
		v, k := binary.Varint(b)
		if k <= 0 {
			return errors.New("short")
		}
		r.Vals[i], b = v, b[k:]
	}
	if len(b) != 0 {
		return errors.New("trailing bytes")
	}
	return nil
}

// toySum is a JSON-encoded result.
type toySum struct {
	Total int64 `json:"total"`
	N     int   `json:"n"`
}

// toyCounts counts node calls.
var toyCounts = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

func toyCount(name string) {
	toyCounts.Lock()
	toyCounts.m[name]++
	toyCounts.Unlock()
}

func toyCalls() map[string]int {
	toyCounts.Lock()
	defer toyCounts.Unlock()
	out := toyCounts.m
	toyCounts.m = map[string]int{}
	return out
}

// toyFail makes toyReport fail while set (the injected failure).
var toyFail atomic.Bool

func toyReadRows(ctx context.Context, f toyFile, o toyOpts) (*toyRows, error) {
	toyCount("rows")
	if o.Progress != nil {
		o.Progress()
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := &toyRows{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		v, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		r.Vals = append(r.Vals, v*int64(o.Factor))
	}
	return r, sc.Err()
}

func toyTotal(ctx context.Context, r *toyRows) (toySum, error) {
	toyCount("total")
	s := toySum{N: len(r.Vals)}
	for _, v := range r.Vals {
		s.Total += v
	}
	return s, nil
}

func toyMax(ctx context.Context, r *toyRows) (int64, error) {
	toyCount("max")
	var m int64
	for _, v := range r.Vals {
		m = max(m, v)
	}
	return m, nil
}

func toyReport(ctx context.Context, s toySum, m int64) (*frame.Frame, error) {
	toyCount("report")
	if toyFail.Load() {
		return nil, errors.New("injected failure")
	}
	return &frame.Frame{Columns: []frame.Column{
		{Name: "total", Kind: frame.KindInt, Ints: []int64{s.Total}},
		{Name: "max", Kind: frame.KindInt, Ints: []int64{m}},
		{Name: "mean", Kind: frame.KindFloat, Floats: []float64{float64(s.Total) / float64(max(s.N, 1))}},
	}}, nil
}

func toyLabel(ctx context.Context, f *frame.Frame) (string, error) {
	toyCount("label")
	return fmt.Sprintf("total=%d", f.Columns[0].Ints[0]), nil
}

// toyGraph: source, opts -> rows -> total, max -> report -> label.
// max (int64) has no codec (toyCodecs).
func toyGraph() (*dag.DAG, error) {
	g := dag.New()
	dag.Input[toyFile](g, "source", "input file")
	dag.Input[toyOpts](g, "opts", "options")
	dag.Add2(g, dag.Spec{Name: "rows"}, "source", "opts", toyReadRows)
	dag.Add1(g, dag.Spec{Name: "total"}, "rows", toyTotal)
	dag.Add1(g, dag.Spec{Name: "max"}, "rows", toyMax)
	dag.Add2(g, dag.Spec{Name: "report"}, "total", "max", toyReport)
	dag.Add1(g, dag.Spec{Name: "label"}, "report", toyLabel)
	return g.Build()
}

// toyCodecs are the codecs of the toy results; max (int64) has none.
func toyCodecs() []Codec {
	report, err := StructCodec[*frame.Frame]("frame/v1")
	if err != nil {
		panic(err)
	}
	return []Codec{
		{Type: reflect.TypeFor[*toyRows](), ID: "toyrows/v1",
			Encode: func(v any) ([]byte, error) { return v.(*toyRows).MarshalBinary() },
			Decode: func(b []byte) (any, error) {
				r := &toyRows{}
				return r, r.UnmarshalBinary(b)
			}},
		{Type: reflect.TypeFor[toySum](), ID: "toysum/v1",
			Encode: func(v any) ([]byte, error) { return json.Marshal(v) },
			Decode: func(b []byte) (any, error) {
				var s toySum
				return s, json.Unmarshal(b, &s)
			}},
		{Type: reflect.TypeFor[string](), ID: "label/v1",
			Encode: func(v any) ([]byte, error) { return []byte(v.(string)), nil },
			Decode: func(b []byte) (any, error) { return string(b), nil }},
		report,
	}
}
