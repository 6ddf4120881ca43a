package codeversion

// The functions in this file exist so that the test can compare the names
// the compiler gives closures with the literals the resolver picks: each
// closure calls its own marker, so the marker in a resolution's Decls
// shows which literal was chosen.

func markA() int { return 1 }
func markB() int { return 2 }
func markC() int { return 3 }
func markD() int { return 4 }
func markE() int { return 5 }

type holder struct{ n int }

//go:noinline
func (h *holder) closures() []func() int {
	return []func() int{
		func() int { return markD() + h.n },
		func() int { return markE() + h.n },
	}
}

//go:noinline
func (h holder) valueClosure() func() int {
	return func() int { return markA() + h.n }
}

// callOpaque calls f through a variable, so the compiler does not inline
// f and the literal it returns keeps its own name.
var callOpaque = func(f func() func() int) func() int { return f() }

// toyClosures returns closures in several shapes: plain, nested, inside a
// go statement and after a deferred one.
func toyClosures() map[string]any {
	out := map[string]any{}
	done := make(chan bool)
	go func() { done <- markE() > 0 }() // func1
	<-done
	a := func() int { return markA() } // func2
	b := func() func() int {           // func3
		return func() int { return markB() } // func3.1
	}
	defer func() { _ = markE() }()     // func4
	c := func() int { return markC() } // func5
	out["a"], out["b"], out["b.inner"], out["c"] = a, b, callOpaque(b), c
	out["inlined"] = b() // the compiler copies the inner literal: a name the resolver must not place
	h := &holder{}
	fs := h.closures()
	out["d"], out["e"], out["value"] = fs[0], fs[1], holder{}.valueClosure()
	out["method"] = h.closures
	out["plain"] = markA
	return out
}
