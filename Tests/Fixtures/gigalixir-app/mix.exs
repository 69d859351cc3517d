# Shaped as apps that deploy on Gigalixir in releases mode: no `releases:`
# here, config/releases.exs read at boot, elixir_buildpack.config pinning versions.
defmodule GigalixirSample.MixProject do
  use Mix.Project

  def project do
    [app: :gigalixir_sample, version: "1.0.0", elixir: "~> 1.14", start_permanent: Mix.env() == :prod, deps: []]
  end

  def application, do: [extra_applications: [:logger], mod: {GigalixirSample, []}]
end
