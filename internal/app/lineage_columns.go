package app

import (
	"cmp"
	"fmt"
	"log/slog"
	"strings"

	"github.com/salesdag/salesdag/internal/columns"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

// DatasetRef names a dataset as the events do.
type DatasetRef struct {
	Namespace string
	Name      string
}

// InputDatasetRef is how the events name the input: namespace "file" and
// the absolute path for a file, the embedded sample's own identity
// otherwise (the same as the input dataset of the events).
func InputDatasetRef(src pipeline.Source) (DatasetRef, error) {
	if src.Path == "" {
		return DatasetRef{Namespace: sampleNamespace, Name: sampleName}, nil
	}
	name, err := lineage.FileDatasetName(src.Path)
	if err != nil {
		return DatasetRef{}, err
	}
	return DatasetRef{Namespace: lineage.FileNamespace, Name: name}, nil
}

// ColumnLineageFacet returns the columnLineage facet of node's result,
// every column resolved through the declarations back to the columns of
// the external inputs, which inputs names (the pipeline has one:
// pipeline.InputSource). With fields, the facet covers exactly those
// columns (the written schema), in that order, and a field without a
// declaration is an error (the facet still holds the others).
//
// Dependencies reach the facet as follows: per field, one input field per
// source column with its composed DIRECT transformation (if any) and one
// INDIRECT transformation per subtype, the descriptions of the nodes that
// applied it joined with "; "; the dataset-level dependencies (filters,
// grouping, sorting of the rows, including upstream ones) also go to the
// facet's "dataset" list.
func ColumnLineageFacet(cat *columns.Catalog, node string, inputs map[string]DatasetRef, fields []frame.Field) (*lineage.ColumnLineageDatasetFacet, error) {
	many := make(map[string][]DatasetRef, len(inputs))
	for k, v := range inputs {
		many[k] = []DatasetRef{v}
	}
	return columnLineageFacet(cat, node, many, fields)
}

// columnLineageFacet is ColumnLineageFacet for inputs that may be several
// datasets (the files of a multi-file input): a column of the input is
// the same column of each of them.
func columnLineageFacet(cat *columns.Catalog, node string, inputs map[string][]DatasetRef, fields []frame.Field) (*lineage.ColumnLineageDatasetFacet, error) {
	res, ok := cat.Resolve(node)
	if !ok {
		return nil, fmt.Errorf("column lineage: node %q has no column declarations", node)
	}
	names := make([]string, 0, len(res.Fields))
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if len(fields) == 0 {
		for _, f := range res.Fields {
			names = append(names, f.Name)
		}
	}
	facet := lineage.NewColumnLineageDatasetFacet()
	var missing []string
	for _, name := range names {
		rf, ok := res.Field(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		in, err := inputFields(rf.Deps, inputs)
		if err != nil {
			return nil, err
		}
		facet.Fields[name] = lineage.ColumnLineageField{InputFields: in}
	}
	ds, err := inputFields(res.Dataset, inputs)
	if err != nil {
		return nil, err
	}
	facet.Dataset = ds
	if len(missing) > 0 {
		return facet, fmt.Errorf("column lineage: %s: columns %s have no declaration", node, strings.Join(missing, ", "))
	}
	return facet, nil
}

func inputFields(deps []columns.Dep, inputs map[string][]DatasetRef) ([]lineage.InputField, error) {
	out := make([]lineage.InputField, 0, len(deps))
	for _, d := range deps {
		refs, ok := inputs[d.Source]
		if !ok || len(refs) == 0 {
			return nil, fmt.Errorf("column lineage: no dataset given for the input %q", d.Source)
		}
		for _, ref := range refs {
			f := lineage.InputField{Namespace: ref.Namespace, Name: ref.Name, Field: d.Column}
			if p := d.Direct; p != nil {
				f.Transformations = append(f.Transformations, lineage.Transformation{
					Type: columns.Direct, Subtype: string(p.Subtype), Description: p.Description(), Masking: p.Masking,
				})
			}
			f.Transformations = append(f.Transformations, indirect(d.Indirect)...)
			out = append(out, f)
		}
	}
	return out, nil
}

// indirect merges the steps by subtype, in order of first appearance.
func indirect(steps []columns.Step) []lineage.Transformation {
	var out []lineage.Transformation
	at := map[columns.Subtype]int{}
	for _, s := range steps {
		desc := s.Node
		if s.Description != "" {
			desc += ": " + s.Description
		}
		i, ok := at[s.Subtype]
		if !ok {
			at[s.Subtype] = len(out)
			out = append(out, lineage.Transformation{Type: columns.Indirect, Subtype: string(s.Subtype), Description: desc})
			continue
		}
		out[i].Description += "; " + desc
	}
	return out
}

// ColumnLineageOutputs returns a callback for LineageOptions.OutputFacets
// that adds the columnLineage facet to every written output of a node,
// pointing at input. Outputs that are not nodes (rejected_rows) get none.
// A problem is logged, never fatal: lineage must not cost a run.
func ColumnLineageOutputs(cat *columns.Catalog, input DatasetRef, log *slog.Logger) func(output.Written, *lineage.OutputDataset) {
	return columnLineageOutputs(cat, []DatasetRef{input}, log)
}

// columnLineageOutputs is ColumnLineageOutputs for an input of one or
// more datasets.
func columnLineageOutputs(cat *columns.Catalog, refs []DatasetRef, log *slog.Logger) func(output.Written, *lineage.OutputDataset) {
	log = cmp.Or(log, slog.New(slog.DiscardHandler))
	inputs := map[string][]DatasetRef{pipeline.InputSource: refs}
	return func(w output.Written, ds *lineage.OutputDataset) {
		if _, ok := cat.Node(w.Node); !ok {
			return
		}
		facet, err := columnLineageFacet(cat, w.Node, inputs, w.Schema)
		if err != nil {
			log.Warn("incomplete column lineage", "output", w.Path, "err", err)
		}
		if facet != nil {
			ds.Facets.ColumnLineage = facet
		}
	}
}
