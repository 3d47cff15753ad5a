"""The analyst's web UI (`seedwatch ui`): stories, a story's articles with their explanations,
coverage charts, feed health, alerts, runs, feedback, and an Atom feed per topic."""
