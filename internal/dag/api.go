// Package dag is a small, generic engine for graphs of typed Go functions.
// It knows nothing about what the functions compute: it registers nodes,
// validates the graph, plans the nodes a set of outputs needs and runs them
// in dependency order. Lineage, progress, timing and caching attach through
// Hooks and known values (Plan.Given), never through changes here.
package dag

import (
	"context"
	"reflect"
	"time"
)

// Spec describes a node apart from its function and dependencies.
type Spec struct {
	Name string
	Doc  string   // one line
	Tags []string // free-form labels, e.g. "step1"
}

// Node is the read-only description of a registered node.
type Node struct {
	Name    string
	Doc     string
	Tags    []string
	Deps    []string       // dependency names, in parameter order
	In      []reflect.Type // parameter types, in Deps order
	Out     reflect.Type   // result type
	IsInput bool           // an external value supplied to Execute, not computed
	Func    string         // qualified name of the node's function ("" for inputs)
}

// Compute runs a node's function (or, inside an Around hook, the rest of
// the chain) and returns its result.
type Compute func(ctx context.Context) (any, error)

// NodeResult is what AfterNode sees.
type NodeResult struct {
	Value    any
	Err      error
	Start    time.Time
	Duration time.Duration
	Given    bool // the node is given (Plan.Given): Value was known, nothing ran
}

// Hooks attach behaviour to an execution. Every field is optional. Node
// hooks may be called from several goroutines at once and must be safe for
// that. Around hooks wrap the node's computation: the first registered is
// the outermost; an Around that returns without calling next skips the
// function (this is how a cache serves a hit). inputs are the dependency
// values in parameter order; do not modify them.
//
// BeforeGraph hooks run in order; the first error aborts the run before
// any node starts. AfterGraph runs for every hook once Execute has checked
// its plan and inputs, even when a BeforeGraph failed, with the error
// Execute returns. Node hooks fire for computed and given nodes, never for
// inputs: a given node gets BeforeNode and AfterNode (with Given set and
// its known value, Duration 0) but no Around, since nothing runs. A panic
// in a node hook fails that node like a panic in its function. A panic in a graph hook fails the run (a *PanicError) like a
// BeforeGraph error; the other AfterGraph hooks still run.
type Hooks struct {
	BeforeGraph func(ctx context.Context, p *Plan) error
	AfterGraph  func(ctx context.Context, p *Plan, err error)
	BeforeNode  func(ctx context.Context, n *Node)
	AfterNode   func(ctx context.Context, n *Node, r NodeResult)
	// SkipNode is told of each node a KeepGoing run skips, with the
	// reason ("upstream X failed"). It is called from the scheduler.
	SkipNode func(ctx context.Context, n *Node, reason string)
	Around   func(ctx context.Context, n *Node, inputs []any, next Compute) (any, error)
}
