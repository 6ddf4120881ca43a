package dag_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/salesdag/salesdag/internal/dag"
)

func Example() {
	g := dag.New()
	dag.Input[string](g, "text", "the input text")
	dag.Add1(g, dag.Spec{Name: "words", Doc: "split into words"}, "text",
		func(_ context.Context, s string) ([]string, error) { return strings.Fields(s), nil })
	dag.Add1(g, dag.Spec{Name: "count", Doc: "number of words"}, "words",
		func(_ context.Context, w []string) (int, error) { return len(w), nil })
	dag.Add1(g, dag.Spec{Name: "shout", Doc: "upper case"}, "text",
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })

	d, err := g.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range d.Nodes() {
		fmt.Printf("%s %v -> %s\n", n.Name, n.Deps, n.Out)
	}

	p, err := d.Plan("count") // "shout" is not needed, so it does not run
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := d.Execute(context.Background(), p, map[string]any{"text": "a small graph"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("count:", res["count"], "ran:", len(res))

	_, err = d.Plan("cuont")
	fmt.Println(err)
	// Output:
	// text [] -> string
	// words [text] -> []string
	// count [words] -> int
	// shout [text] -> string
	// count: 3 ran: 2
	// unknown output "cuont" (did you mean "count"?)
}
