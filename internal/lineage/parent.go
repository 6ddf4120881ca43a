package lineage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// RunRef identifies one run of one job.
type RunRef struct {
	Namespace string
	Name      string
	RunID     uuid.UUID
}

func (r RunRef) String() string { return r.Namespace + "/" + r.Name + "/" + r.RunID.String() }

// ParentContext is the orchestrator run that started salesdag: Parent is
// the run (an Airflow task, say) and Root the top of its chain (the DAG
// run), nil when the orchestrator did not say.
type ParentContext struct {
	Parent RunRef
	Root   *RunRef
}

// Environment variables the OpenLineage integrations use to hand a parent
// run to a child process.
const (
	EnvParentID     = "OPENLINEAGE_PARENT_ID"      // namespace/job/runId
	EnvRootParentID = "OPENLINEAGE_ROOT_PARENT_ID" // namespace/job/runId
	EnvContext      = "OPENLINEAGE_CONTEXT"        // JSON: {"parent":{"run":{"runId"},"job":{"namespace","name"},"root":{...}}}
)

// ParentFromEnv reads the parent run from OPENLINEAGE_CONTEXT or, when that
// is unset, from OPENLINEAGE_PARENT_ID and OPENLINEAGE_ROOT_PARENT_ID. It
// returns nil, nil when none is set. A malformed value is an error naming
// the variable; the caller should warn and run without a parent, since a
// broken link must not cost the run.
func ParentFromEnv(getenv func(string) string) (*ParentContext, error) {
	if s := strings.TrimSpace(getenv(EnvContext)); s != "" {
		pc, err := parseContextJSON(s)
		if err != nil {
			return nil, fmt.Errorf("lineage: %s: %w", EnvContext, err)
		}
		return pc, nil
	}
	p := strings.TrimSpace(getenv(EnvParentID))
	r := strings.TrimSpace(getenv(EnvRootParentID))
	if p == "" {
		if r != "" {
			return nil, fmt.Errorf("lineage: %s is set but %s is not; set both, or neither", EnvRootParentID, EnvParentID)
		}
		return nil, nil
	}
	parent, err := ParseRunRef(p)
	if err != nil {
		return nil, fmt.Errorf("lineage: %s: %w", EnvParentID, err)
	}
	pc := &ParentContext{Parent: parent}
	if r != "" {
		root, err := ParseRunRef(r)
		if err != nil {
			return nil, fmt.Errorf("lineage: %s: %w", EnvRootParentID, err)
		}
		pc.Root = &root
	}
	return pc, nil
}

// ParseRunRef parses "namespace/job/runId". The namespace is everything
// before the first slash and the run id everything after the last, so job
// names may contain slashes.
func ParseRunRef(s string) (RunRef, error) {
	first := strings.Index(s, "/")
	last := strings.LastIndex(s, "/")
	if first < 0 || first == last {
		return RunRef{}, fmt.Errorf("%q is not namespace/job/runId", s)
	}
	ns, job, id := s[:first], s[first+1:last], s[last+1:]
	if ns == "" || job == "" {
		return RunRef{}, fmt.Errorf("%q has an empty namespace or job name (want namespace/job/runId)", s)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return RunRef{}, fmt.Errorf("%q: run id %q is not a UUID", s, id)
	}
	return RunRef{Namespace: ns, Name: job, RunID: u}, nil
}

type ctxRef struct {
	Run *struct {
		RunID string `json:"runId"`
	} `json:"run"`
	Job *struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"job"`
	Root *ctxRef `json:"root"`
}

func (c *ctxRef) ref(what string) (RunRef, error) {
	if c.Run == nil || c.Job == nil {
		return RunRef{}, fmt.Errorf("%s needs both run.runId and job.namespace/job.name", what)
	}
	if c.Job.Namespace == "" || c.Job.Name == "" {
		return RunRef{}, fmt.Errorf("%s job needs a namespace and a name", what)
	}
	u, err := uuid.Parse(c.Run.RunID)
	if err != nil {
		return RunRef{}, fmt.Errorf("%s run id %q is not a UUID", what, c.Run.RunID)
	}
	return RunRef{Namespace: c.Job.Namespace, Name: c.Job.Name, RunID: u}, nil
}

// parseContextJSON accepts the parent facet shape, with root nested in
// parent (as the parent facet has it) or beside it.
func parseContextJSON(s string) (*ParentContext, error) {
	var doc struct {
		Parent *ctxRef `json:"parent"`
		Root   *ctxRef `json:"root"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if doc.Parent == nil {
		return nil, errors.New(`no "parent" object (want {"parent":{"run":{"runId":...},"job":{"namespace":...,"name":...}}})`)
	}
	parent, err := doc.Parent.ref("parent")
	if err != nil {
		return nil, err
	}
	pc := &ParentContext{Parent: parent}
	root := cmp.Or(doc.Parent.Root, doc.Root)
	if root != nil {
		r, err := root.ref("root")
		if err != nil {
			return nil, err
		}
		pc.Root = &r
	}
	return pc, nil
}
