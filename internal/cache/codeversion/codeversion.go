// Package codeversion derives a version for a Go function from its source:
// a hash of the function's declaration and, transitively, of every
// package-level declaration it refers to, so that the version changes
// whenever code the function can reach in its package changes, and does not
// change for edits elsewhere (other functions, comments, formatting).
//
// It works on the package's own source files, embedded in the binary with
// //go:embed, and needs no type checking. Without types it over-approximates:
// a name used after a dot and called (x.Len()) brings in every method of
// that name, a type brings in all its methods, and an init function (or
// `var _ = f()`) comes in when it or a function it calls names a variable
// the node reaches (lookup tables filled at start-up). Where it cannot be
// sure (a name it cannot find, a closure it cannot place), it falls back to
// a hash of the whole package, which may cause an unnecessary miss but
// never a stale hit.
//
// What it does not see: calls into other packages (the cache adds the
// whole source of any imported package whose source it was given, and the
// Go and main module versions, to every key), a
// named variable whose initializer changes another variable as a side
// effect, and a method used as a value (f := x.M, not called) whose name is
// also a struct field and whose type the function never names.
package codeversion

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Prefix starts every version string, so that a change of the hashing
// scheme itself changes every version.
const Prefix = "cv1-"

// Resolution tells how a version was derived.
type Resolution struct {
	Version string
	// Exact is true when the version covers only the function and what it
	// reaches; false when it is the whole-package fallback.
	Exact bool
	// Decls are the declarations hashed (e.g. "func F", "type T",
	// "method T.M"), sorted; nil for the fallback.
	Decls []string
	// Reason says why the fallback was used ("" when Exact).
	Reason string
	// Pos is where the resolved function or literal starts ("file:line:col").
	Pos string
}

// Package is the parsed source of one Go package. It is safe for
// concurrent use.
type Package struct {
	Name  string // package clause name
	whole string // fallback version

	src      map[string][]byte // file name -> source
	fset     *token.FileSet
	funcs    map[string]*ast.FuncDecl // top-level functions by name
	funcFile map[*ast.FuncDecl]string
	declItem map[*ast.FuncDecl]*item
	methods  map[string][]*ast.FuncDecl // "T.M" -> declarations (several with build tags)
	byName   map[string][]*item         // package-level names -> declarations
	byMethod map[string][]*item         // method name -> methods of any type
	byType   map[string][]*item         // receiver type name -> its methods
	fields   map[string]bool            // names of struct fields of any type
	inits    []*item
	imports  map[string][]string // file -> canonical import lines

	mu   sync.Mutex
	memo map[string]Resolution
}

// item is one package-level declaration.
type item struct {
	key  string // "func F", "method T.M", "type T", "var a,b", "const A,B"
	file string
	hash string   // of the canonical token stream
	refs []string // identifiers used inside (not after a dot), deduplicated
	sels []sel    // names used after a dot: fields, methods, other packages' names
}

// Parse reads every non-test .go file at the root of fsys. Files that do
// not parse are an error: the fallback must cover what the binary runs.
func Parse(fsys fs.FS) (*Package, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("codeversion: reading source directory: %w", err)
	}
	p := &Package{
		src:      map[string][]byte{},
		fset:     token.NewFileSet(),
		funcs:    map[string]*ast.FuncDecl{},
		funcFile: map[*ast.FuncDecl]string{},
		declItem: map[*ast.FuncDecl]*item{},
		methods:  map[string][]*ast.FuncDecl{},
		byName:   map[string][]*item{},
		byMethod: map[string][]*item{},
		byType:   map[string][]*item{},
		fields:   map[string]bool{},
		imports:  map[string][]string{},
		memo:     map[string]Resolution{},
	}
	whole := sha256.New()
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || path.Ext(n) != ".go" || strings.HasSuffix(n, "_test.go") {
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("codeversion: no Go source files found (is the package's source embedded with //go:embed *.go?)")
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("codeversion: reading %s: %w", n, err)
		}
		f, err := parser.ParseFile(p.fset, n, b, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("codeversion: parsing %s: %w", n, err)
		}
		if p.Name == "" {
			p.Name = f.Name.Name
		} else if p.Name != f.Name.Name {
			return nil, fmt.Errorf("codeversion: %s is package %s, others are package %s", n, f.Name.Name, p.Name)
		}
		p.src[n] = b
		fmt.Fprintf(whole, "file %s\n", n)
		toks, err := p.tokens(n, f.Pos(), f.End(), nil)
		if err != nil {
			return nil, err
		}
		whole.Write(toks)
		whole.Write([]byte{0})
		p.index(n, f)
	}
	p.whole = Prefix + "pkg-" + hex.EncodeToString(whole.Sum(nil))
	return p, nil
}

// Imports returns the import paths of the package's files, sorted.
func (p *Package) Imports() []string {
	var out []string
	for _, lines := range p.imports {
		for _, l := range lines {
			path, err := strconv.Unquote(l[strings.LastIndexByte(l, ' ')+1:])
			if err == nil {
				out = append(out, path)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Whole returns the version of the package as a whole: every non-test
// file's tokens, comments excluded.
func (p *Package) Whole() string { return p.whole }

func (p *Package) index(file string, f *ast.File) {
	for _, imp := range f.Imports {
		line := imp.Path.Value
		if imp.Name != nil {
			line = imp.Name.Name + " " + line
		}
		p.imports[file] = append(p.imports[file], line)
	}
	add := func(it *item, names ...string) {
		for _, n := range names {
			p.byName[n] = append(p.byName[n], it)
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			it := p.newItem(file, d, nil)
			p.declItem[d] = it
			switch {
			case d.Recv != nil && len(d.Recv.List) > 0:
				t := recvType(d.Recv.List[0].Type)
				it.key = "method " + t + "." + d.Name.Name
				p.byMethod[d.Name.Name] = append(p.byMethod[d.Name.Name], it)
				p.byType[t] = append(p.byType[t], it)
				p.methods[t+"."+d.Name.Name] = append(p.methods[t+"."+d.Name.Name], d)
				p.funcFile[d] = file
			case d.Name.Name == "init":
				it.key = fmt.Sprintf("init %s:%d", file, len(p.inits))
				p.inits = append(p.inits, it)
			default:
				it.key = "func " + d.Name.Name
				add(it, d.Name.Name)
				if _, dup := p.funcs[d.Name.Name]; !dup {
					p.funcs[d.Name.Name] = d
					p.funcFile[d] = file
				}
			}
		case *ast.GenDecl:
			switch d.Tok {
			case token.CONST:
				// A const group is one unit: iota and implicit repetition
				// make each constant depend on its neighbours.
				var names []string
				for _, s := range d.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						names = append(names, n.Name)
					}
				}
				it := p.newItem(file, d, nil)
				it.key = "const " + strings.Join(names, ",")
				add(it, names...)
			case token.VAR:
				for _, s := range d.Specs {
					vs := s.(*ast.ValueSpec)
					var names []string
					blank := true
					for _, n := range vs.Names {
						names = append(names, n.Name)
						blank = blank && n.Name == "_"
					}
					it := p.newItem(file, vs, nil)
					it.key = "var " + strings.Join(names, ",")
					if blank { // var _ = f(): runs at init like an init function
						it.key = fmt.Sprintf("init %s:%d", file, len(p.inits))
						p.inits = append(p.inits, it)
						continue
					}
					add(it, names...)
				}
			case token.TYPE:
				for _, s := range d.Specs {
					ts := s.(*ast.TypeSpec)
					ast.Inspect(ts.Type, func(n ast.Node) bool {
						if st, ok := n.(*ast.StructType); ok {
							for _, f := range st.Fields.List {
								for _, name := range f.Names {
									p.fields[name.Name] = true
								}
								if len(f.Names) == 0 { // embedded: the field is the type's name
									p.fields[recvType(f.Type)] = true
								}
							}
						}
						return true
					})
					it := p.newItem(file, ts, nil)
					it.key = "type " + ts.Name.Name
					add(it, ts.Name.Name)
				}
			}
		}
	}
}

// recvType returns the base type name of a receiver: T for T, *T, T[K], *T[K].
func recvType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		case *ast.SelectorExpr: // an embedded pkg.T
			return t.Sel.Name
		default:
			return "?"
		}
	}
}

// newItem hashes node's tokens, leaving out the byte ranges in skip.
func (p *Package) newItem(file string, node ast.Node, skip [][2]token.Pos) *item {
	toks, err := p.tokens(file, node.Pos(), node.End(), skip)
	if err != nil {
		// The file parsed, so it scans; keep the item distinct anyway.
		toks = []byte("scan error: " + err.Error())
	}
	sum := sha256.Sum256(toks)
	refs, sels := idents(node, skip)
	return &item{file: file, hash: hex.EncodeToString(sum[:]), refs: refs, sels: sels}
}

// tokens is the canonical form of source between from and to: each token
// on its own, comments and layout dropped, so reformatting or commenting
// code leaves the version alone. Ranges in skip become a placeholder.
func (p *Package) tokens(file string, from, to token.Pos, skip [][2]token.Pos) ([]byte, error) {
	tf := p.fset.File(from)
	if tf == nil {
		return nil, fmt.Errorf("codeversion: no position information for %s", file)
	}
	src := p.src[file]
	lo, hi := tf.Offset(from), tf.Offset(to)
	var s scanner.Scanner
	fs := token.NewFileSet()
	sf := fs.AddFile(file, -1, hi-lo)
	var scanErr error
	s.Init(sf, src[lo:hi], func(_ token.Position, msg string) { scanErr = errors.New(msg) }, 0)
	var out bytes.Buffer
	skipped := -1
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		off := lo + sf.Offset(pos)
		if i := inRanges(tf, off, skip); i >= 0 {
			if i != skipped {
				out.WriteString("{…}\n")
				skipped = i
			}
			continue
		}
		switch {
		case tok == token.SEMICOLON:
			out.WriteString(";")
		case lit != "":
			out.WriteString(tok.String())
			out.WriteByte(' ')
			out.WriteString(lit)
		default:
			out.WriteString(tok.String())
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), scanErr
}

func inRanges(tf *token.File, off int, rs [][2]token.Pos) int {
	for i, r := range rs {
		if off >= tf.Offset(r[0]) && off < tf.Offset(r[1]) {
			return i
		}
	}
	return -1
}

// sel is a name used after a dot, and whether it is called there.
type sel struct {
	name   string
	called bool
}

// idents lists the identifiers under node outside the skipped ranges:
// plain ones, and those after a dot (x.name), which can only be fields,
// methods or other packages' names.
func idents(node ast.Node, skip [][2]token.Pos) ([]string, []sel) {
	seen := map[string]bool{}
	sels := map[sel]bool{}
	afterDot := map[*ast.Ident]bool{}
	called := map[*ast.SelectorExpr]bool{}
	ast.Inspect(node, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		for _, r := range skip {
			if n.Pos() >= r[0] && n.End() <= r[1] {
				return false
			}
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if se, ok := n.Fun.(*ast.SelectorExpr); ok {
				called[se] = true
			}
		case *ast.SelectorExpr:
			afterDot[n.Sel] = true
			sels[sel{n.Sel.Name, called[n]}] = true
		case *ast.Ident:
			if !afterDot[n] {
				seen[n.Name] = true
			}
		}
		return true
	})
	refs := make([]string, 0, len(seen))
	for n := range seen {
		refs = append(refs, n)
	}
	sort.Strings(refs)
	out := make([]sel, 0, len(sels))
	for s := range sels {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return !out[i].called && out[j].called
	})
	return refs, out
}

// methodsNamed returns the methods that x.name in it may call. Without
// types any type's method of that name may be meant, unless the name is
// not called and some struct has a field of that name: then it is taken
// as the field (a method value of a type the code never names is the
// residual case this misses).
func (p *Package) methodsNamed(it *item) []*item {
	var out []*item
	for _, s := range it.sels {
		if !s.called && p.fields[s.name] {
			continue
		}
		out = append(out, p.byMethod[s.name]...)
	}
	return out
}

// For returns the version of the function with the given qualified name
// ("example.com/mod/pkg.F", "pkg.(*T).M", "pkg.F.func2", as
// runtime.FuncForPC reports it). A name it cannot resolve gives the
// whole-package version, never an error.
func (p *Package) For(qualified string) string { return p.Resolve(qualified).Version }

// Resolve is For with an explanation.
func (p *Package) Resolve(qualified string) Resolution {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.memo[qualified]; ok {
		return r
	}
	r := p.resolve(qualified)
	p.memo[qualified] = r
	return r
}

func (p *Package) fallback(reason string) Resolution {
	return Resolution{Version: p.whole, Reason: reason}
}

func (p *Package) resolve(qualified string) Resolution {
	_, local := SplitQualified(qualified)
	if local == "" {
		return p.fallback("empty function name")
	}
	// Generic instantiations are reported as F[...]; the source is F.
	local = strings.ReplaceAll(local, "[...]", "")
	decl, file, rest, ok := p.lookupDecl(local)
	if !ok {
		return p.fallback(fmt.Sprintf("%q is not a declaration of package %s", local, p.Name))
	}
	if len(rest) == 0 {
		r := p.closureOf(p.declItem[decl], nil)
		r.Pos = p.fset.Position(decl.Pos()).String()
		return r
	}
	target, reason := closure(decl, rest)
	if target == nil {
		return p.fallback(reason)
	}
	// Hash the enclosing declaration (captured variables are set there)
	// with the target inside it, but without the bodies of sibling
	// literals that the target cannot call: those passed straight to a
	// call whose result is dropped, as in a registration function, or to
	// go and defer. A literal bound to a name or stored anywhere stays in.
	var skip [][2]token.Pos
	ast.Inspect(decl, func(n ast.Node) bool {
		var args []ast.Expr
		switch s := n.(type) {
		case *ast.ExprStmt:
			if call, ok := s.X.(*ast.CallExpr); ok {
				args = call.Args
			}
		case *ast.GoStmt:
			args = append([]ast.Expr{s.Call.Fun}, s.Call.Args...)
		case *ast.DeferStmt:
			args = append([]ast.Expr{s.Call.Fun}, s.Call.Args...)
		}
		for _, a := range args {
			fl, ok := a.(*ast.FuncLit)
			if ok && !(fl.Pos() <= target.Pos() && target.End() <= fl.End()) {
				skip = append(skip, [2]token.Pos{fl.Body.Pos(), fl.Body.End()})
			}
		}
		return true
	})
	// The declaration's own name is not a reference: the target does not
	// run the rest of its enclosing function.
	skip = append(skip, [2]token.Pos{decl.Name.Pos(), decl.Name.End()})
	root := p.newItem(file, decl, skip)
	root.key = "closure " + local
	r := p.closureOf(root, p.declItem[decl])
	r.Pos = p.fset.Position(target.Pos()).String()
	return r
}

// closureOf hashes root and every package-level declaration it reaches.
// outer, the declaration enclosing a closure root, is left out unless
// something refers to it by name.
func (p *Package) closureOf(root, outer *item) Resolution {
	included := map[*item]bool{}
	var queue []*item
	push := func(it *item) {
		if !included[it] {
			included[it] = true
			queue = append(queue, it)
		}
	}
	drain := func() {
		for len(queue) > 0 {
			it := queue[0]
			queue = queue[1:]
			for _, ref := range it.refs {
				for _, d := range p.byName[ref] {
					push(d)
					if strings.HasPrefix(d.key, "type ") {
						for _, m := range p.byType[ref] {
							if m != outer {
								push(m)
							}
						}
					}
				}
			}
			for _, m := range p.methodsNamed(it) {
				push(m)
			}
		}
	}
	push(root)
	drain()
	// init functions (and blank var initializers) run before any node and
	// may fill variables the node reads, such as lookup tables: include
	// one when it, or a function it calls, names a variable the node
	// reaches. Repeat, since an init brings in more code.
	for changed := true; changed; {
		changed = false
		for _, in := range p.inits {
			if included[in] {
				continue
			}
			for _, v := range p.varsWritable(in) {
				if included[v] {
					push(in)
					drain()
					changed = true
					break
				}
			}
		}
	}
	items := make([]*item, 0, len(included))
	for it := range included {
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b *item) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.hash, b.hash)
	})
	h := sha256.New()
	files := map[string]bool{}
	var decls []string
	for _, it := range items {
		fmt.Fprintf(h, "%s %s\n", it.key, it.hash)
		decls = append(decls, it.key)
		files[it.file] = true
	}
	// Imports decide what a qualified identifier means.
	var imps []string
	for f := range files {
		imps = append(imps, p.imports[f]...)
	}
	sort.Strings(imps)
	for _, i := range slices.Compact(imps) {
		fmt.Fprintf(h, "import %s\n", i)
	}
	return Resolution{Version: Prefix + hex.EncodeToString(h.Sum(nil)), Exact: true, Decls: slices.Compact(decls)}
}

// varsWritable returns the package variables that init, or a function or
// method it calls (transitively), names: the ones it may change.
func (p *Package) varsWritable(init *item) []*item {
	seen := map[*item]bool{init: true}
	queue := []*item{init}
	var vars []*item
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		var next []*item
		for _, ref := range it.refs {
			next = append(next, p.byName[ref]...)
		}
		next = append(next, p.methodsNamed(it)...)
		{
			for _, d := range next {
				if seen[d] {
					continue
				}
				seen[d] = true
				switch {
				case strings.HasPrefix(d.key, "var "):
					vars = append(vars, d)
				case strings.HasPrefix(d.key, "func "), strings.HasPrefix(d.key, "method "):
					queue = append(queue, d)
				}
			}
		}
	}
	return vars
}

// lookupDecl finds the declaration a local name starts with and returns the
// closure path after it ("func2", "1"), if any.
func (p *Package) lookupDecl(local string) (*ast.FuncDecl, string, []string, bool) {
	var head string
	var rest []string
	if strings.HasPrefix(local, "(") { // (*T).M or (T).M
		end := strings.Index(local, ").")
		if end < 0 {
			return nil, "", nil, false
		}
		typ := strings.TrimPrefix(local[1:end], "*")
		parts := strings.Split(local[end+2:], ".")
		head, rest = typ+"."+strings.TrimSuffix(parts[0], "-fm"), parts[1:]
		return p.method(head, rest)
	}
	parts := strings.Split(local, ".")
	head, rest = parts[0], parts[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "func") {
		// T.M: a method with a value receiver (or its closure).
		return p.method(head+"."+strings.TrimSuffix(rest[0], "-fm"), rest[1:])
	}
	if d, ok := p.funcs[strings.TrimSuffix(head, "-fm")]; ok {
		return d, p.funcFile[d], rest, true
	}
	return nil, "", nil, false
}

func (p *Package) method(key string, rest []string) (*ast.FuncDecl, string, []string, bool) {
	ds := p.methods[key]
	if len(ds) != 1 { // missing, or several under build tags: be conservative
		return nil, "", nil, false
	}
	return ds[0], p.funcFile[ds[0]], rest, true
}

// closure finds the function literal that the compiler names
// F.func<a>.<b>...: literals are numbered from 1 in source order, within
// the innermost enclosing function or literal. Names the compiler gives to
// other wrappers (-range, gowrap, deferwrap) are not resolved.
func closure(decl *ast.FuncDecl, path []string) (*ast.FuncLit, string) {
	var scope ast.Node = decl.Body
	var found *ast.FuncLit
	for i, seg := range path {
		numStr := seg
		if i == 0 {
			if !strings.HasPrefix(seg, "func") {
				return nil, fmt.Sprintf("%q is not a closure name", seg)
			}
			numStr = strings.TrimPrefix(seg, "func")
		}
		n, err := strconv.Atoi(numStr)
		if err != nil || n < 1 {
			return nil, fmt.Sprintf("%q is not a closure the source can place", seg)
		}
		lits := directLits(scope)
		if n > len(lits) {
			return nil, fmt.Sprintf("closure %q: only %d function literals there", seg, len(lits))
		}
		found = lits[n-1]
		scope = found.Body
	}
	if found == nil {
		return nil, "no closure named"
	}
	return found, ""
}

// directLits returns the function literals in n that are not inside
// another literal, in source order.
func directLits(n ast.Node) []*ast.FuncLit {
	var out []*ast.FuncLit
	ast.Inspect(n, func(c ast.Node) bool {
		if fl, ok := c.(*ast.FuncLit); ok && c != n {
			out = append(out, fl)
			return false
		}
		return true
	})
	return out
}

// SplitQualified splits "example.com/a/pkg.F.func1" into the package path
// "example.com/a/pkg" and the local name "F.func1".
func SplitQualified(q string) (pkgPath, local string) {
	slash := strings.LastIndexByte(q, '/')
	dot := strings.IndexByte(q[slash+1:], '.')
	if dot < 0 {
		return q, ""
	}
	return q[:slash+1+dot], q[slash+1+dot+1:]
}

// For parses fsys and returns the version of qualified; see Package.For.
func For(fsys fs.FS, qualified string) (string, error) {
	p, err := Parse(fsys)
	if err != nil {
		return "", err
	}
	return p.For(qualified), nil
}
