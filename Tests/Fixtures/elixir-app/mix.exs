defmodule KilnSample.MixProject do
  use Mix.Project

  def project do
    [
      app: :kiln_sample,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [{:greeting, path: "greeting"}],
      releases: [kiln_sample: [include_executables_for: [:unix]]]
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {KilnSample.Application, []}]
  end
end
