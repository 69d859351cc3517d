defmodule Greeting do
  @moduledoc "A path dependency of the Elixir sample, built from the repository."
  def text, do: "elixir sample served"
end
