defmodule HotSample.MixProject do
  use Mix.Project
  def project do
    [app: :hot_sample, version: "0.1.0", elixir: "~> 1.14", start_permanent: Mix.env() == :prod,
     deps: [], releases: [hot_sample: [include_executables_for: [:unix]]]]
  end
  def application, do: [extra_applications: [:logger, :sasl], mod: {HotSample.Application, []}]
end
