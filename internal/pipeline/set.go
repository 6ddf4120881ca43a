package pipeline

import (
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/salesdag/salesdag/internal/dag"
)

// u64set is a set of uint64 keys (open addressing, linear probing), used
// for distinct counts where a general map would cost several times the
// memory.
type u64set struct {
	slots   []uint64 // 0 marks an empty slot; key 0 is tracked by hasZero
	n       int
	shift   uint
	hasZero bool
	random  bool // keys are hash values already: one multiply spreads them
}

// slot returns k's first slot.
func (s *u64set) slot(k uint64) uint64 {
	if s.random {
		return (k * dictHashMul) >> s.shift
	}
	return setHash(k) >> s.shift
}

func newU64Set(hint int) *u64set {
	s := &u64set{}
	size := 16
	for size < 2*hint {
		size <<= 1
	}
	s.alloc(size)
	return s
}

func (s *u64set) alloc(size int) {
	s.slots = make([]uint64, size)
	s.shift = 64
	for v := size; v > 1; v >>= 1 {
		s.shift--
	}
}

// len returns the number of keys.
func (s *u64set) len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

func (s *u64set) add(k uint64) { s.insert(k) }

// insert adds k and reports whether it was new.
func (s *u64set) insert(k uint64) bool {
	if k == 0 {
		was := s.hasZero
		s.hasZero = true
		return !was
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return false
		case 0:
			s.slots[i] = k
			if s.n++; 2*s.n > len(s.slots) {
				s.grow()
			}
			return true
		}
	}
}

// has reports whether k is in the set.
func (s *u64set) has(k uint64) bool {
	if k == 0 {
		return s.hasZero
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// reset empties the set, keeping room for about hint keys.
func (s *u64set) reset(hint int) {
	size := 16
	for size < 2*hint {
		size <<= 1
	}
	if size > len(s.slots) {
		s.alloc(size)
	} else {
		clear(s.slots)
	}
	s.n, s.hasZero = 0, false
}

func (s *u64set) grow() {
	old := s.slots
	s.alloc(2 * len(old))
	s.n = 0
	zero := s.hasZero
	for _, k := range old {
		if k != 0 {
			s.add(k)
		}
	}
	s.hasZero = zero
}

// each calls fn for every key.
func (s *u64set) each(fn func(uint64)) {
	if s.hasZero {
		fn(0)
	}
	for _, k := range s.slots {
		if k != 0 {
			fn(k)
		}
	}
}

// parallelFor calls fn(worker, i) for i in [0, n) on up to workers
// goroutines; worker is in [0, workers) and identifies per-goroutine state.
// A panic in fn is raised again in the caller's goroutine, as a
// *dag.PanicError, once every worker has stopped.
func parallelFor(n, workers int, fn func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var panicked atomic.Pointer[dag.PanicError]
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					panicked.CompareAndSwap(nil, newPanicError(v))
					next.Store(int64(n)) // the other workers stop early
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
	if p := panicked.Load(); p != nil {
		// A panic in a goroutine of ours would end the process; raised
		// again here, the caller (the engine, or Profile) can recover it.
		panic(p)
	}
}

// newPanicError records a recovered panic value with the stack of the
// goroutine that panicked (a *dag.PanicError raised again keeps its own).
func newPanicError(v any) *dag.PanicError {
	if p, ok := v.(*dag.PanicError); ok {
		return p
	}
	return &dag.PanicError{Value: v, Stack: debug.Stack()}
}

// setHash spreads a key over the table: a multiply alone leaves keys that
// differ only in a few middle bytes (short ids) clustered.
func setHash(k uint64) uint64 {
	k ^= k >> 31
	k *= 0xBF58476D1CE4E5B9
	return (k ^ k>>29) * dictHashMul
}

// bufferedSet is a u64set split in 16 parts by hash, with the keys for each
// part buffered and inserted in bursts: each burst works on one small
// table that stays in cache, where one large table would cost a cache miss
// per key (tens of thousands of customer ids, one lookup per row).
type bufferedSet struct {
	parts [16]*u64set
	buf   [16][]uint64
}

const bufferedSetBurst = 256

func newBufferedSet() *bufferedSet {
	s := &bufferedSet{}
	for i := range s.parts {
		s.parts[i] = newU64Set(64)
		s.buf[i] = make([]uint64, 0, bufferedSetBurst)
	}
	return s
}

func (s *bufferedSet) add(k uint64) {
	p := setHash(k) & 15
	b := append(s.buf[p], k)
	if len(b) == bufferedSetBurst {
		s.flushPart(int(p), b)
		b = b[:0]
	}
	s.buf[p] = b
}

func (s *bufferedSet) flushPart(p int, b []uint64) {
	set := s.parts[p]
	for _, k := range b {
		set.add(k)
	}
}

func (s *bufferedSet) flush() {
	for p, b := range s.buf {
		s.flushPart(p, b)
		s.buf[p] = b[:0]
	}
}

func (s *bufferedSet) len() int {
	s.flush()
	n := 0
	for _, set := range s.parts {
		n += set.len()
	}
	return n
}
