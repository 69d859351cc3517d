defmodule Mix.Tasks.Esbuild do
  @shortdoc "Bundles assets/js into priv/static/assets (as the esbuild package does)"
  use Mix.Task
  @impl true
  def run(["default" | _flags]) do
    File.mkdir_p!("priv/static/assets")
    File.write!("priv/static/assets/app.js", File.read!("assets/js/app.js") |> String.replace(~r/\n\s*/, "\n"))
    Mix.shell().info("esbuild: priv/static/assets/app.js")
  end
end
