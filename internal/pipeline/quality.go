package pipeline

import (
	"context"

	"github.com/salesdag/salesdag/internal/frame"
)

// QualityMetrics is data_quality_metrics. Field order is the reference's.
type QualityMetrics struct {
	RawRecordCount     int64       `json:"raw_record_count"`
	CleanedRecordCount int64       `json:"cleaned_record_count"`
	DataLossRate       frame.Float `json:"data_loss_rate"`
	NullCount          int64       `json:"null_count"`
	DuplicateCount     int64       `json:"duplicate_count"`
	// RejectedRecordCount is set only when bad rows are skipped.
	RejectedRecordCount *int64 `json:"rejected_record_count,omitempty"`
}

// DataQualityMetrics is the data_quality_metrics node.
func DataQualityMetrics(ctx context.Context, raw *RawSales, s *Sales) (QualityMetrics, error) {
	dups, err := raw.duplicates()
	if err != nil {
		return QualityMetrics{}, err
	}
	q := QualityMetrics{
		RawRecordCount:     int64(raw.n),
		CleanedRecordCount: int64(s.n),
		NullCount:          raw.nulls[0] + raw.nulls[1] + raw.nulls[2] + raw.nulls[3],
		DuplicateCount:     dups,
	}
	if raw.n > 0 {
		q.DataLossRate = frame.Float(float64(raw.n-s.n) / float64(raw.n) * 100)
	}
	if raw.skipMode {
		n := int64(len(raw.rejected))
		q.RejectedRecordCount = &n
	}
	return q, ctx.Err()
}

// duplicates counts the rows equal to an earlier row (once per value).
func (r *RawSales) duplicates() (int64, error) {
	if r.agg == nil {
		return countDuplicates(r), nil
	}
	r.dupOnce.Do(func() {
		if r.n < 2 {
			return
		}
		r.dupCount, r.dupErr = r.countStreamDuplicates()
		if r.dupErr == nil {
			r.agg.dups = nil // the entries are no longer needed
		}
	})
	return r.dupCount, r.dupErr
}

// rowHash mixes a row's four typed values (nulls are sentinel values, so
// null equals null).
func rowHash(date int32, prod uint32, cust uint64, amt uint64) uint64 {
	h := (uint64(uint32(date))<<32 | uint64(prod)) * 0x9E3779B97F4A7C15
	h ^= (cust ^ h>>32) * 0xD6E8FEB86659FD93
	h ^= (amt ^ h>>29) * 0xBF58476D1CE4E5B9
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	return h ^ h>>29
}

// dupKey is a row's typed tuple, for exact comparison.
type dupKey struct {
	amt  uint64
	cust uint64
	date int32
	prod uint32
}

// countDuplicates counts rows equal in all four columns to an earlier row:
// the number of rows minus the number of distinct rows.
//
// It keeps no table of rows. Pass one hashes every row and files the
// hash's low 32 bits under a partition named by its top bits (four bytes
// per row). Pass two looks, partition by partition with a small cache-
// resident set, for hash values that occur more than once. Only rows with
// such a value can have an equal row; pass three collects exactly those
// (the duplicates and the rare hash collisions) and counts their distinct
// tuples by full comparison. Every step is independent of how the work is
// split, so the count is too.
func countDuplicates(r *RawSales) int64 {
	if r.n < 2 {
		return 0
	}
	pbits := uint(4)
	for r.n>>pbits > 4096 && pbits < 8 {
		pbits++
	}
	nparts := 1 << pbits
	workers := max(1, r.workers)
	hashOf := func(s *segment, i int) uint64 {
		return rowHash(s.dates[i], s.prods[i], s.custs[i], s.amountKey(i))
	}
	parts := make([]*hashParts, workers)
	per := r.n/(workers*nparts)*5/4 + 64
	for w := range parts {
		parts[w] = newHashParts(nparts, per)
	}
	parallelFor(len(r.segs), workers, func(w, si int) {
		s, hp := &r.segs[si], parts[w]
		for i := range s.len() {
			h := hashOf(s, i)
			hp.add(int(h>>(64-pbits)), uint32(h))
		}
	})

	// Hash values seen more than once, as partition<<32 | low 32 bits.
	repeated := make([][]uint64, nparts)
	sets := make([]*u64set, workers)
	for w := range sets {
		sets[w] = newU64Set(per * workers)
	}
	parallelFor(nparts, workers, func(w, p int) {
		set := sets[w]
		n := 0
		for _, hp := range parts {
			n += hp.count(p)
		}
		set.reset(n)
		for _, hp := range parts {
			hp.each(p, func(h uint32) {
				if !set.insert(uint64(h)) {
					repeated[p] = append(repeated[p], uint64(p)<<32|uint64(h))
				}
			})
		}
	})
	parts, sets = nil, nil
	dup := newU64Set(64)
	var filter [1 << 12]uint64 // 2^18 bits: rejects almost every row in one test
	for _, rp := range repeated {
		for _, k := range rp {
			dup.add(k)
			filter[k>>6&(1<<12-1)] |= 1 << (k & 63)
		}
	}
	if dup.len() == 0 {
		return 0
	}

	cands := make([][]dupKey, len(r.segs))
	parallelFor(len(r.segs), workers, func(_, si int) {
		s := &r.segs[si]
		for i := range s.len() {
			h := hashOf(s, i)
			k := h>>(64-pbits)<<32 | h&0xFFFFFFFF
			if filter[k>>6&(1<<12-1)]&(1<<(k&63)) != 0 && dup.has(k) {
				cands[si] = append(cands[si], dupKey{amt: s.amountKey(i), cust: s.custs[i], date: s.dates[i], prod: s.prods[i]})
			}
		}
	})
	total := 0
	for _, c := range cands {
		total += len(c)
	}
	distinct := make(map[dupKey]struct{}, total)
	for _, c := range cands {
		for _, k := range c {
			distinct[k] = struct{}{}
		}
	}
	return int64(total - len(distinct))
}

// hashParts files 32-bit hashes under partitions: each partition has a
// fixed region of one flat array (a cursor per partition, no slice
// headers to update) and an overflow slice for the rare excess.
type hashParts struct {
	buf  []uint32
	cur  []int
	per  int
	over [][]uint32
}

func newHashParts(n, per int) *hashParts {
	return &hashParts{buf: make([]uint32, n*per), cur: make([]int, n), per: per, over: make([][]uint32, n)}
}

func (hp *hashParts) add(p int, h uint32) {
	if c := hp.cur[p]; c < hp.per {
		hp.buf[p*hp.per+c] = h
		hp.cur[p] = c + 1
		return
	}
	hp.over[p] = append(hp.over[p], h)
}

func (hp *hashParts) count(p int) int { return hp.cur[p] + len(hp.over[p]) }

func (hp *hashParts) each(p int, fn func(uint32)) {
	for _, h := range hp.buf[p*hp.per : p*hp.per+hp.cur[p]] {
		fn(h)
	}
	for _, h := range hp.over[p] {
		fn(h)
	}
}
