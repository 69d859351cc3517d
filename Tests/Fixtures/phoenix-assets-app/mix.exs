# The shape `mix phx.new` gives an app's assets: an assets/ folder and an
# assets.deploy alias running esbuild, tailwind and phx.digest. Those tasks
# come from Hex packages (which fetch their binaries from the npm registry),
# out of reach here, so lib/mix/tasks has stand-ins that do what they do:
# bundle into priv/static/assets, then digest every file with a manifest.
defmodule PhoenixAssets.MixProject do
  use Mix.Project

  def project do
    [app: :phoenix_assets, version: "0.1.0", elixir: "~> 1.14", deps: [], aliases: aliases()]
  end

  def application, do: [extra_applications: [:logger]]

  defp aliases do
    ["assets.deploy": ["esbuild default --minify", "tailwind default --minify", "phx.digest"]]
  end
end
