//go:build salesdag_rowcache

package pipeline

// Codecs for the row-level tables, built only with -tags salesdag_rowcache
// (to measure them, or to cache raw and cleaned data deliberately with
// cache.PolicyDefault). They read unexported columns, so they follow the
// column layout by hand; cache_rowcodec_test.go compares every field after
// a round trip.

import (
	"errors"
	"fmt"

	"github.com/salesdag/salesdag/internal/cache"
)

func init() {
	cache.RegisterCodec("raw_sales_data/v1", encodeRawSales, decodeRawSales)
	cache.RegisterCodec("cleaned_sales_data/v1", encodeSales, decodeSales)
}

func encodeRawSales(r *RawSales) ([]byte, error) {
	if r == nil {
		return nil, errors.New("nil raw_sales_data")
	}
	e := cache.NewEncoder(rawSizeHint(r))
	putRawSales(e, r)
	return e.Bytes(), nil
}

func rawSizeHint(r *RawSales) int {
	size := 64 + len(r.prods.arena) + len(r.custs.arena) + 8*len(r.prods.offs) + 8*len(r.custs.offs)
	for i := range r.segs {
		size += 32 + 24*r.segs[i].len()
	}
	return size
}

func putRawSales(e *cache.Encoder, r *RawSales) {
	e.String(r.name)
	e.Varint(int64(r.n))
	e.Varint(r.bytes)
	for _, n := range r.nulls {
		e.Varint(n)
	}
	e.Varint(int64(r.minDate))
	e.Varint(int64(r.maxDate))
	e.Varint(int64(r.workers))
	e.Bool(r.skipMode)
	e.Uvarint(uint64(len(r.segs)))
	for i := range r.segs {
		s := &r.segs[i]
		e.Int32s(s.dates)
		e.Uint32s(s.prods)
		e.Uint64s(s.custs)
		e.Float64s(s.amts)
		e.Varint(int64(s.dict))
	}
	putDict(e, r.prods)
	putDict(e, r.custs)
	e.Uvarint(uint64(len(r.rejected)))
	for _, rr := range r.rejected {
		e.Varint(rr.Line)
		e.String(rr.Reason)
		e.String(rr.Raw)
	}
}

// putDict writes the keys; the hash table is rebuilt from them on decode
// (inserting codes in order gives the same table).
func putDict(e *cache.Encoder, d *dict) {
	if d == nil {
		e.Bool(false)
		return
	}
	e.Bool(true)
	e.String(string(d.arena))
	ints := make([]int64, len(d.offs))
	for i, o := range d.offs {
		ints[i] = int64(o)
	}
	e.Int64s(ints)
	e.Uvarint(uint64(len(d.table)))
}

func decodeRawSales(b []byte) (*RawSales, error) {
	d := cache.NewDecoder(b)
	r := getRawSales(d)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("raw_sales_data entry: %w", err)
	}
	return r, nil
}

func getRawSales(d *cache.Decoder) *RawSales {
	r := &RawSales{
		name:  d.String(),
		n:     int(d.Varint()),
		bytes: d.Varint(),
	}
	for i := range r.nulls {
		r.nulls[i] = d.Varint()
	}
	r.minDate = int32(d.Varint())
	r.maxDate = int32(d.Varint())
	r.workers = int(d.Varint())
	r.skipMode = d.Bool()
	nseg := d.Uvarint()
	if d.Err() != nil {
		return nil
	}
	total := 0
	for i := uint64(0); i < nseg && d.Err() == nil; i++ {
		s := segment{dates: d.Int32s(), prods: d.Uint32s(), custs: d.Uint64s(), amts: d.Float64s(), dict: int(d.Varint())}
		if d.Err() == nil && (len(s.prods) != len(s.dates) || len(s.custs) != len(s.dates) || len(s.amts) != len(s.dates)) {
			return badRaw(d, "segment columns of different lengths")
		}
		total += s.len()
		r.segs = append(r.segs, s)
	}
	r.prods = getDict(d)
	r.custs = getDict(d)
	nrej := d.Uvarint()
	for i := uint64(0); i < nrej && d.Err() == nil; i++ {
		r.rejected = append(r.rejected, RejectedRow{Line: d.Varint(), Reason: d.String(), Raw: d.String()})
	}
	if d.Err() != nil {
		return nil
	}
	if total != r.n || r.prods == nil || r.custs == nil {
		return badRaw(d, "row count or dictionaries do not match")
	}
	// Codes must point into the dictionaries, or a later lookup would panic.
	for i := range r.segs {
		s := &r.segs[i]
		for _, c := range s.prods {
			if c != nullCode && int(c) >= r.prods.len() {
				return badRaw(d, "product code out of range")
			}
		}
		for _, c := range s.custs {
			if c != nullCust && c&longID != 0 && int(c&^longID) >= r.custs.len() {
				return badRaw(d, "customer code out of range")
			}
		}
	}
	return r
}

func badRaw(d *cache.Decoder, msg string) *RawSales {
	d.Fail(errors.New(msg))
	return nil
}

func getDict(d *cache.Decoder) *dict {
	if !d.Bool() {
		return nil
	}
	var arena []byte // nil when empty, as a new dictionary has it
	if s := d.String(); s != "" {
		arena = []byte(s)
	}
	ints := d.Int64s()
	size := d.Uvarint()
	// The table is a power of two, at least twice and (after growing by
	// doubling from 1024) less than four times the number of keys.
	keys := uint64(max(len(ints)-1, 0))
	if d.Err() != nil || len(ints) == 0 || ints[0] != 0 || ints[len(ints)-1] != int64(len(arena)) ||
		size < 2 || size&(size-1) != 0 || size < 2*keys || size > max(1<<10, 4*keys) {
		badRaw(d, "dictionary")
		return nil
	}
	offs := make([]int, len(ints))
	for i, o := range ints {
		if i > 0 && o < ints[i-1] {
			badRaw(d, "dictionary offsets")
			return nil
		}
		offs[i] = int(o)
	}
	dc := &dict{arena: arena, offs: offs}
	dc.resize(int(size))
	return dc
}

func encodeSales(s *Sales) ([]byte, error) {
	if s == nil || s.raw == nil {
		return nil, errors.New("nil cleaned_sales_data")
	}
	e := cache.NewEncoder(rawSizeHint(s.raw) + 16)
	e.Varint(int64(s.n))
	putRawSales(e, s.raw)
	return e.Bytes(), nil
}

func decodeSales(b []byte) (*Sales, error) {
	d := cache.NewDecoder(b)
	n := int(d.Varint())
	r := getRawSales(d)
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("cleaned_sales_data entry: %w", err)
	}
	if n < 0 || n > r.n {
		return nil, fmt.Errorf("cleaned_sales_data entry: %d cleaned rows of %d", n, r.n)
	}
	return &Sales{raw: r, n: n}, nil
}
