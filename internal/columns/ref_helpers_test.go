package columns

// String is "node.column"; only the tests print a Ref.
func (r Ref) String() string { return r.Node + "." + r.Column }
