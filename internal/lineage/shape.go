package lineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Schema URLs of the facets that the filters:, tags: and facets: sections
// add, as the OpenLineage spec versions them.
const (
	TagsJobFacetSchemaURL                 = "https://openlineage.io/spec/facets/1-0-0/TagsJobFacet.json#/$defs/TagsJobFacet"
	TagsRunFacetSchemaURL                 = "https://openlineage.io/spec/facets/1-0-0/TagsRunFacet.json#/$defs/TagsRunFacet"
	EnvironmentVariablesRunFacetSchemaURL = "https://openlineage.io/spec/facets/1-0-0/EnvironmentVariablesRunFacet.json#/$defs/EnvironmentVariablesRunFacet"
	SourceCodeLocationJobFacetSchemaURL   = "https://openlineage.io/spec/facets/1-1-0/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet"
)

// EventOptions are what the filters:, tags: and facets: sections of the
// configuration do to the events that are sent (the local history keeps
// events as they were made).
type EventOptions struct {
	// Filters drop the events of jobs whose name matches one of them.
	Filters []JobFilter
	// JobTags and RunTags become the "tags" job and run facets (source USER).
	JobTags, RunTags []Tag
	// Environment becomes the "environmentVariables" run facet.
	Environment []EnvironmentVariable
	// SourceCodeLocation becomes the "sourceCodeLocation" job facet.
	SourceCodeLocation map[string]string
	// DisabledFacets are facet keys removed from every event (the Java
	// client's facets.disabled).
	DisabledFacets []string
}

// JobFilter matches job names exactly or, like Python's re.match, by a
// regular expression anchored at the start of the name.
type JobFilter struct {
	Exact string
	Regex *regexp.Regexp
}

// Match reports whether the filter drops events of the job called name.
func (f JobFilter) Match(name string) bool {
	if f.Regex != nil {
		return f.Regex.MatchString(name)
	}
	return f.Exact == name
}

// Tag is one entry of a tags facet.
type Tag struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

// EnvironmentVariable is one entry of the environmentVariables facet.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Empty reports whether o changes nothing.
func (o EventOptions) Empty() bool {
	return len(o.Filters) == 0 && len(o.JobTags) == 0 && len(o.RunTags) == 0 &&
		len(o.Environment) == 0 && o.SourceCodeLocation == nil && len(o.DisabledFacets) == 0
}

type eventsSpec struct {
	Facets struct {
		EnvironmentVariables []text `yaml:"environment_variables"`
		SourceCodeLocation   struct {
			Disabled          *flag `yaml:"disabled"`
			RepoURL           text  `yaml:"repo_url"`
			Version           text  `yaml:"version"`
			Tag               text  `yaml:"tag"`
			Branch            text  `yaml:"branch"`
			PullRequestNumber text  `yaml:"pull_request_number"`
		} `yaml:"source_code_location"`
		Disabled []text `yaml:"disabled"`
	}
	Filters []struct {
		Type  text `yaml:"type"`
		Match text `yaml:"match"`
		Regex text `yaml:"regex"`
	}
	Tags struct {
		Job yaml.Node `yaml:"job"`
		Run yaml.Node `yaml:"run"`
	}
}

// decodeEvents reads the facets:, filters: and tags: sections. A section
// that cannot be read is left out with a warning.
func decodeEvents(root *yaml.Node, getenv func(string) string, warn func(string, ...any)) EventOptions {
	var s eventsSpec
	for _, sec := range []struct {
		key string
		dst any
	}{{"facets", &s.Facets}, {"filters", &s.Filters}, {"tags", &s.Tags}} {
		if n := mapGet(root, sec.key); n != nil {
			if err := n.Decode(sec.dst); err != nil {
				warn("%s: %v; the section is ignored", sec.key, oneLine(err.Error()))
			}
		}
	}
	var o EventOptions
	for i, f := range s.Filters {
		switch {
		case f.Type == "":
			warn("filters[%d] has no type (exact or regex); ignored", i)
		case f.Type == "exact" && f.Match != "":
			o.Filters = append(o.Filters, JobFilter{Exact: string(f.Match)})
		case f.Type == "regex" && f.Regex != "":
			re, err := regexp.Compile(`^(?:` + string(f.Regex) + `)`)
			if err != nil {
				warn("filters[%d].regex is not a valid regular expression (%v); ignored", i, err)
				continue
			}
			o.Filters = append(o.Filters, JobFilter{Regex: re})
		default:
			warn("filters[%d]: type %q with these keys is not supported (use exact with match, or regex with regex); ignored", i, f.Type)
		}
	}
	o.JobTags = tagsOf(&s.Tags.Job, "tags.job", warn)
	o.RunTags = tagsOf(&s.Tags.Run, "tags.run", warn)
	var missing []string
	for _, name := range s.Facets.EnvironmentVariables {
		if v := getenv(string(name)); v != "" {
			o.Environment = append(o.Environment, EnvironmentVariable{Name: string(name), Value: v})
		} else {
			missing = append(missing, string(name))
		}
	}
	if len(missing) > 0 {
		warn("facets.environment_variables: %s not set; left out", strings.Join(missing, ", "))
	}
	if scl := s.Facets.SourceCodeLocation; scl.Disabled != nil && !bool(*scl.Disabled) {
		if scl.RepoURL == "" {
			warn("facets.source_code_location needs repo_url: salesdag does not read .git; the facet is left out")
		} else {
			o.SourceCodeLocation = map[string]string{"type": "git", "url": string(scl.RepoURL), "repoUrl": string(scl.RepoURL)}
			for k, v := range map[string]text{"version": scl.Version, "tag": scl.Tag, "branch": scl.Branch, "pullRequestNumber": scl.PullRequestNumber} {
				if v != "" {
					o.SourceCodeLocation[k] = string(v)
				}
			}
		}
	}
	for _, d := range s.Facets.Disabled {
		o.DisabledFacets = append(o.DisabledFacets, string(d))
	}
	return o
}

func tagsOf(n *yaml.Node, path string, warn func(string, ...any)) []Tag {
	if n.Kind == 0 || n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		warn("%s must be a mapping of tag names to values; ignored", path)
		return nil
	}
	var tags []Tag
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i+1].Kind != yaml.ScalarNode {
			warn("%s.%s must be a single value; ignored", path, n.Content[i].Value)
			continue
		}
		tags = append(tags, Tag{Key: n.Content[i].Value, Value: scalar(n.Content[i+1]), Source: "USER"})
	}
	return tags
}

// Prepare applies o to one encoded event: false when a filter drops it.
func (o EventOptions) Prepare(data []byte) ([]byte, bool, error) {
	if o.Empty() {
		return data, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		return nil, false, fmt.Errorf("lineage: prepare event: %w", err)
	}
	job, _ := ev["job"].(map[string]any)
	run, _ := ev["run"].(map[string]any)
	name, _ := job["name"].(string)
	for _, f := range o.Filters {
		if f.Match(name) {
			return nil, false, nil
		}
	}
	if len(o.RunTags) > 0 {
		setTags(facetsOf(run), TagsRunFacetSchemaURL, o.RunTags)
	}
	if len(o.JobTags) > 0 {
		setTags(facetsOf(job), TagsJobFacetSchemaURL, o.JobTags)
	}
	if len(o.Environment) > 0 {
		rf := facetsOf(run)
		old, _ := rf["environmentVariables"].(map[string]any)
		list, _ := old["environmentVariables"].([]any)
		vars, seen := append([]any{}, list...), map[string]bool{}
		for _, v := range list {
			if m, ok := v.(map[string]any); ok {
				seen[fmt.Sprint(m["name"])] = true
			}
		}
		for _, v := range o.Environment {
			if !seen[v.Name] { // the event's own value wins, as in the Python client
				vars = append(vars, v)
			}
		}
		rf["environmentVariables"] = map[string]any{"_producer": Producer, "_schemaURL": EnvironmentVariablesRunFacetSchemaURL, "environmentVariables": vars}
	}
	if o.SourceCodeLocation != nil {
		jf := facetsOf(job)
		if _, ok := jf["sourceCodeLocation"]; !ok {
			f := map[string]any{"_producer": Producer, "_schemaURL": SourceCodeLocationJobFacetSchemaURL}
			for k, v := range o.SourceCodeLocation {
				f[k] = v
			}
			jf["sourceCodeLocation"] = f
		}
	}
	if len(o.DisabledFacets) > 0 {
		containers := []any{run["facets"], job["facets"]}
		for _, key := range []string{"inputs", "outputs"} {
			list, _ := ev[key].([]any)
			for _, d := range list {
				if m, ok := d.(map[string]any); ok {
					containers = append(containers, m["facets"], m["inputFacets"], m["outputFacets"])
				}
			}
		}
		for _, c := range containers {
			if m, ok := c.(map[string]any); ok {
				for _, k := range o.DisabledFacets {
					delete(m, k)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return nil, false, fmt.Errorf("lineage: prepare event: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true, nil
}

// facetsOf returns the facets object of a run or job, creating it.
func facetsOf(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	f, ok := m["facets"].(map[string]any)
	if !ok {
		f = map[string]any{}
		m["facets"] = f
	}
	return f
}

// setTags sets the tags facet: tags already there stay unless a user tag
// has the same key (compared case-insensitively, keeping the old case).
func setTags(facets map[string]any, schemaURL string, user []Tag) {
	var keep []any
	oldCase := map[string]string{}
	if old, ok := facets["tags"].(map[string]any); ok {
		list, _ := old["tags"].([]any)
		for _, t := range list {
			m, _ := t.(map[string]any)
			k, _ := m["key"].(string)
			oldCase[strings.ToLower(k)] = k
			if !slices.ContainsFunc(user, func(u Tag) bool { return strings.EqualFold(u.Key, k) }) {
				keep = append(keep, t)
			}
		}
	}
	for _, t := range user {
		if k, ok := oldCase[strings.ToLower(t.Key)]; ok {
			t.Key = k
		}
		keep = append(keep, t)
	}
	facets["tags"] = map[string]any{"_producer": Producer, "_schemaURL": schemaURL, "tags": keep}
}
